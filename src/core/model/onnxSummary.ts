/**
 * What PathLens states about an ONNX file beyond its layers (`info`, the model view, reports), how its
 * `.json` tensors are laid out, and the preprocessing its input convention suggests.
 */
import type { OnnxSummary } from '../types';
import type { TensorLayout } from './inputLayout';
import type { OnnxSource } from './onnx/load';
import { toNumber } from './onnx/proto';
import { typeName } from './onnx/tensor';
import type { OnnxModelDetails } from './onnx/types';

type Dims = (number | string | null)[];

function declaredDims(value: { type?: { tensorType?: { shape?: { dim?: unknown[] | null } | null } | null } | null }): Dims {
  const dims = (value.type?.tensorType?.shape?.dim ?? []) as {
    dimValue?: number | { toNumber(): number } | null;
    dimParam?: string | null;
  }[];
  return dims.map((d) =>
    d.dimValue !== null && d.dimValue !== undefined && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : d.dimParam || null,
  );
}

/** The tensor layout of `.json` inputs, or undefined when tensors are read as given in `inputShape`. */
export function tensorLayoutOf(details: OnnxModelDetails, channelsLast: boolean): TensorLayout | undefined {
  const free = details.input.declaredDims.slice(1).map((d) => typeof d !== 'number');
  const channelsFirst = channelsLast && details.input.layout === 'NCHW';
  if (!channelsFirst && !free.some((f) => f)) return undefined;
  return { fileShape: [...details.input.shape], free, channelsFirst };
}

function inputNote(details: OnnxModelDetails, layout: TensorLayout | undefined): string {
  const dims = details.input.declaredDims.map((d) => d ?? '?').join(', ');
  const notes: string[] = [];
  if (layout?.channelsFirst) {
    notes.push(
      `NCHW [${dims}]: images are preprocessed as H×W×C and transposed to N×C×H×W; .json inputs are read in NCHW (with or without the batch of 1); attributions are H×W×C (channels last), overlays H×W`,
    );
  } else notes.push(`${details.input.layout === 'other' ? '' : `${details.input.layout} `}[${dims}]: inputs are used in this layout`);
  const symbolic = details.input.declaredDims.slice(1).some((d) => typeof d !== 'number');
  if (symbolic) {
    notes.push(
      `symbolic sizes bound to [${details.input.shape.join(', ')}] for images and by the tensor for .json inputs (one size per run)`,
    );
  }
  if (typeof details.input.declaredDims[0] !== 'number') notes.push('dynamic batch');
  return notes.join('; ');
}

export function onnxSummaryOf(source: OnnxSource, details: OnnxModelDetails, layout: TensorLayout | undefined): OnnxSummary {
  const graph = source.proto.graph!;
  const input = (graph.input ?? []).find((i) => i.name === details.input.name)!;
  const output = (graph.output ?? []).find((o) => o.name === details.outputName)!;
  const ops: Record<string, number> = {};
  for (const n of graph.node ?? []) ops[n.opType ?? '?'] = (ops[n.opType ?? '?'] ?? 0) + 1;
  const external = new Set<string>();
  for (const i of details.initializers) if (i.storage !== 'inline') external.add(i.storage.location);
  return {
    irVersion: details.irVersion,
    producer: details.producer,
    opsets: details.opsets,
    input: {
      name: details.input.name,
      dims: details.input.declaredDims,
      elementType: typeName(input.type?.tensorType?.elemType ?? 0),
      layout: details.input.layout,
    },
    output: { name: details.outputName, dims: declaredDims(output) },
    ops: Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    nodes: (graph.node ?? []).length,
    initializers: details.initializers.length,
    foldedBatchNorms: details.foldedBatchNorms,
    foldedNodes: details.nodes.filter((n) => n.folded).length,
    externalData: [...external].sort(),
    inputNote: inputNote(details, layout),
  };
}

/**
 * torchvision's convention: a float N×3×H×W input that expects ImageNet mean/std on 0..1 pixels.
 * Only a suggestion: a `--preprocess` flag or a pathlens.json beside the model comes first.
 */
export function suggestedPreprocessingOf(onnx: OnnxSummary): { name: 'imagenet'; reason: string } | undefined {
  const { dims, elementType, layout, name } = onnx.input;
  if (layout !== 'NCHW' || dims[1] !== 3 || elementType !== 'FLOAT') return undefined;
  return {
    name: 'imagenet',
    reason: `ONNX input '${name}' is a float N×3×H×W tensor [${dims.map((d) => d ?? '?').join(', ')}] as torchvision exports take, so ImageNet mean/std is assumed (set --preprocess or a pathlens.json beside the model if it was trained otherwise)`,
  };
}
