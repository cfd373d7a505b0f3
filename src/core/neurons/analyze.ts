/**
 * `pathlens neurons` and `explain --neuron`: which units of a layer carry a prediction (total
 * conductance or layer IG), which units explain a region of the input, and what one unit looks at.
 * Results follow the JSON conventions of issue 14 (row-major, channels fastest; NHWC indices).
 */
import { completeness } from '../attribution/completeness';
import { elapsed } from '../attribution/method';
import { PathLensError } from '../errors';
import { quadrature } from '../path/quadrature';
import type { MethodResult, QuadratureRuleName } from '../types';
import type { LayerAttribution, NeuronMethod, RankedUnit, Region } from '../../shared/neurons';
import { layerIntegratedGradients, unitConductance, unitInputMap, type ChunkRunner, type PathSpec } from './integrals';
import { splitModel, unitCount, type SplitModel } from './pathTensors';
import type { ExplainedScalar } from '../engine/scalar';

export { NEURON_METHODS, type LayerAttribution, type NeuronMethod, type RankedUnit, type Region } from '../../shared/neurons';
export const UNIT_MAP_METHODS = ['conductance', 'ig'] as const;
export type UnitMapMethod = (typeof UNIT_MAP_METHODS)[number];

export interface PathOptions {
  steps: number;
  rule: QuadratureRuleName;
}

export const NEURON_DEFAULTS: PathOptions & { top: number } = { steps: 32, rule: 'gauss-legendre', top: 10 };

/** Flat index → per-dimension index for a row-major shape (channels fastest). */
export function unravel(flat: number, shape: number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return index;
}

/** Per-dimension index → flat index, checked against the shape. */
export function ravel(index: number[], shape: number[], what: string): number {
  if (index.length !== shape.length || index.some((v, d) => !Number.isInteger(v) || v < 0 || v >= shape[d]!)) {
    throw new PathLensError('usage', `${what}: index [${index.join(', ')}] is outside the layer's shape [${shape.join(', ')}]`);
  }
  return index.reduce((flat, v, d) => flat * shape[d]! + v, 0);
}

/** The `top` units by value (largest contribution first; ties by index). */
export function topUnits(values: ArrayLike<number>, shape: number[], top: number): RankedUnit[] {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[b]! - values[a]! || a - b);
  return order.slice(0, top).map((i) => ({ index: unravel(i, shape), value: values[i]! }));
}

/** 1 on the region's features of an [H, W, C] (or [H, W]) input, 0 elsewhere. */
export function regionMask(region: Region, inputShape: number[]): Float32Array {
  if (inputShape.length < 2 || inputShape.length > 3) {
    throw new PathLensError(
      'usage',
      `--region needs an image input [height, width, channels]; this model's input is [${inputShape.join(', ')}]`,
    );
  }
  const [height, width, channels = 1] = inputShape as [number, number, number?];
  const { x0, y0, x1, y1 } = region;
  if (!(0 <= x0 && x0 < x1 && x1 <= width && 0 <= y0 && y0 < y1 && y1 <= height)) {
    throw new PathLensError(
      'usage',
      `--region ${x0},${y0},${x1},${y1} is empty or outside the ${width}×${height} input (x = column, y = row, end exclusive)`,
    );
  }
  const mask = new Float32Array(height * width * channels);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) mask.fill(1, (y * width + x) * channels, (y * width + x + 1) * channels);
  return mask;
}

export interface NeuronPath {
  input: Float32Array;
  baseline: { data: Float32Array; name: string; value: number };
  inputValue: number;
}

function pathSpec(path: NeuronPath, options: PathOptions): PathSpec {
  return { input: path.input, baseline: path.baseline.data, quadrature: quadrature(options.rule, options.steps) };
}

/** Total conductance (or A_{k,S} with a region) or layer IG of every unit of `layer`. */
export async function attributeLayer(
  fn: ExplainedScalar,
  runner: ChunkRunner,
  path: NeuronPath,
  request: { layer: string; method: NeuronMethod; region?: Region; top: number } & PathOptions,
): Promise<LayerAttribution> {
  const started = performance.now();
  const before = runner.evaluations;
  const split = splitModel(fn, request.layer);
  if (request.region && request.method !== 'conductance') throw new PathLensError('usage', '--region needs --method conductance');
  const spec = pathSpec(path, request);
  let units: Float64Array;
  let expected: number;
  if (request.method === 'conductance') {
    const mask = request.region ? regionMask(request.region, fn.model.inputShape) : undefined;
    const result = await unitConductance(split, runner, spec, mask);
    units = result.units;
    // With a region the units share the region's IG mass; otherwise F(x) − F(x').
    expected = request.region ? result.inputIgSum : path.inputValue - path.baseline.value;
  } else {
    const result = await layerIntegratedGradients(split, runner, spec);
    units = result.units;
    expected = path.inputValue - path.baseline.value;
  }
  const data = Array.from(units);
  return {
    layer: split.layer.name,
    method: request.method,
    shape: split.layer.shape,
    attribution: { data },
    completeness: completeness(data, expected),
    top: topUnits(data, split.layer.shape, request.top),
    ...(request.region ? { region: request.region } : {}),
    params: { steps: request.steps, rule: request.rule, baseline: path.baseline.name, ...(split.jvp ? { jvp: split.jvp } : {}) },
    timing: { ms: elapsed(started), evaluations: runner.evaluations - before },
  };
}

/** Parses `layer:i,j,k` (or `layer:k`) into the layer and the unit's flat index. */
export function parseNeuron(value: string, split: (layer: string) => SplitModel): { split: SplitModel; unit: number; index: number[] } {
  const colon = value.lastIndexOf(':');
  const indexText = colon > 0 ? value.slice(colon + 1) : '';
  const index = indexText.split(',').map((s) => Number(s.trim()));
  if (colon <= 0 || indexText.trim() === '' || index.some((v) => !Number.isInteger(v))) {
    throw new PathLensError('usage', `--neuron must be <layer>:<index> such as conv2d_1:7,8,5 or dense_1:7 (got '${value}')`);
  }
  const model = split(value.slice(0, colon));
  return { split: model, unit: ravel(index, model.layer.shape, `--neuron ${value}`), index };
}

/** The input map of one unit as a method result (overlays, reports and the panel show it as any map). */
export async function unitMap(
  fn: ExplainedScalar,
  runner: ChunkRunner,
  path: NeuronPath,
  request: { neuron: string; method: UnitMapMethod } & PathOptions,
  inputShape: number[],
): Promise<MethodResult> {
  const started = performance.now();
  const before = runner.evaluations;
  const { split, unit, index } = parseNeuron(request.neuron, (layer) => splitModel(fn, layer));
  const spec = pathSpec(path, request);
  const { map, unitValues } = await unitInputMap(split, runner, spec, unit, request.method);
  let expected = unitValues[0] - unitValues[1];
  if (request.method === 'conductance') {
    // Σ_i C_{k,i} is the unit's total conductance: check it against the JVP-based total of that unit.
    expected = (await unitConductance(split, runner, spec)).units[unit]!;
  }
  const data = Float32Array.from(map);
  return {
    method: request.method === 'ig' ? 'neuron-ig' : 'neuron-conductance',
    params: {
      layer: split.layer.name,
      unit: index,
      unitCount: unitCount(split),
      steps: request.steps,
      rule: request.rule,
      baseline: path.baseline.name,
    },
    attribution: { shape: inputShape, data },
    completeness: completeness(data, expected),
    timing: { ms: elapsed(started), evaluations: runner.evaluations - before },
  };
}
