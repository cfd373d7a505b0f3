/** The ONNX part of `pathlens info`: opsets, declared input/output, how the input is fed, op histogram. */
import type { OnnxSummary } from '../shared/types';

const dimsText = (dims: (number | string | null)[]) => `[${dims.map((d) => d ?? '?').join(', ')}]`;

export function formatOnnxSummary(onnx: OnnxSummary): string[] {
  const opsets = Object.entries(onnx.opsets)
    .map(([domain, version]) => `${domain} ${version}`)
    .join(', ');
  const ops = Object.entries(onnx.ops).map(([op, n]) => `${op} ×${n}`);
  const rows: string[] = [];
  for (let i = 0; i < ops.length; i += 6) rows.push(`    ${ops.slice(i, i + 6).join(', ')}`);
  return [
    `  onnx opsets: ${opsets}`,
    `  onnx input  ${onnx.input.name}: ${dimsText(onnx.input.dims)} ${onnx.input.elementType} (${onnx.input.layout})`,
    `  onnx output ${onnx.output.name}: ${dimsText(onnx.output.dims)}`,
    `  input layout: ${onnx.inputNote}`,
    `  graph: ${onnx.nodes} nodes, ${onnx.initializers} initializers${onnx.externalData.length ? ` (external data: ${onnx.externalData.join(', ')})` : ''}; folded at load: ${onnx.foldedNodes} shape/constant nodes, ${onnx.foldedBatchNorms} BatchNormalization into Conv`,
    `  op histogram (${Object.keys(onnx.ops).length} op types):`,
    ...rows,
  ];
}
