/**
 * Static checks of an untrusted model topology before TF.js builds it: cycles (TF.js would loop
 * forever resolving them) and declared sizes that no weights could back (a layer of 1e8 units would
 * be allocated before its weights are even compared with the manifest).
 */
import { PathLensError } from '../errors';
import { checkDeclaredBytes, elementCount } from '../safety';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Config fields that size a layer's own weights: each is ≤ the layer's parameter count. */
const WEIGHT_SIZE_FIELDS = ['units', 'filters', 'output_dim', 'outputDim', 'input_dim', 'inputDim', 'depth_multiplier', 'depthMultiplier'];
/** Config fields holding a declared input shape (with or without the batch dimension). */
const INPUT_SHAPE_FIELDS = ['batch_input_shape', 'batchInputShape', 'batch_shape', 'input_shape', 'inputShape'];

/** Every model config (an object whose `config.layers` is an array) in a topology, nested ones included. */
function modelConfigs(value: unknown, out: Json[] = []): Json[] {
  if (Array.isArray(value)) value.forEach((v) => modelConfigs(v, out));
  else if (isObject(value)) {
    const config = value.config;
    if (isObject(config) && Array.isArray(config.layers)) out.push(value);
    for (const v of Object.values(value)) modelConfigs(v, out);
  }
  return out;
}

/** Layer names an `inbound_nodes` value refers to (tfjs `[[name, node, tensor, kwargs]]` and Keras 3 `keras_history`). */
function inboundNames(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    if (typeof value[0] === 'string' && typeof value[1] === 'number') out.push(value[0]);
    else value.forEach((v) => inboundNames(v, out));
  } else if (isObject(value)) {
    const history = value.keras_history;
    if (Array.isArray(history) && typeof history[0] === 'string') out.push(history[0]);
    else Object.values(value).forEach((v) => inboundNames(v, out));
  }
  return out;
}

/**
 * The first cycle of a directed graph given as node → predecessors, as a list of names, or null.
 * Iterative (a 10 000-layer model must not overflow the stack).
 */
export function findCycle(edges: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 1 | 2>(); // 1 = on the current path, 2 = done
  for (const start of edges.keys()) {
    if (state.has(start)) continue;
    const stack: { node: string; next: number }[] = [{ node: start, next: 0 }];
    state.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const preds = edges.get(top.node) ?? [];
      if (top.next >= preds.length) {
        state.set(top.node, 2);
        stack.pop();
        continue;
      }
      const pred = preds[top.next++]!;
      const seen = state.get(pred);
      if (seen === 1) {
        const from = stack.findIndex((s) => s.node === pred);
        return [...stack.slice(from).map((s) => s.node), pred];
      }
      if (seen === undefined && edges.has(pred)) {
        state.set(pred, 1);
        stack.push({ node: pred, next: 0 });
      }
    }
  }
  return null;
}

function describeCycle(cycle: string[]): string {
  const shown = cycle.length > 8 ? [...cycle.slice(0, 4), '…', ...cycle.slice(-3)] : cycle;
  return shown.map((n) => `'${n}'`).join(' ← ');
}

function layerName(layer: Json): string {
  const config = isObject(layer.config) ? layer.config : {};
  return typeof layer.name === 'string' ? layer.name : typeof config.name === 'string' ? config.name : '?';
}

function checkLayerSizes(layer: Json, file: string, weightElements: number, memoryBudgetBytes: number): void {
  const config = isObject(layer.config) ? layer.config : {};
  const name = layerName(layer);
  for (const field of WEIGHT_SIZE_FIELDS) {
    const value = config[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new PathLensError('model-json', `${file}: layer '${name}' has ${field} = ${JSON.stringify(value)}, not a whole number`);
    }
    if (value > weightElements) {
      throw new PathLensError(
        'limit',
        `${file}: layer '${name}' declares ${field} = ${value}, more than the ${weightElements} weight values the manifest holds; refused before allocating it`,
      );
    }
  }
  for (const field of INPUT_SHAPE_FIELDS) {
    const shape = config[field];
    if (!Array.isArray(shape)) continue;
    const count = elementCount(shape.map((d) => (d === null ? 1 : d)));
    if (Number.isNaN(count))
      throw new PathLensError('model-json', `${file}: layer '${name}' has ${field} ${JSON.stringify(shape)}, not a shape`);
    checkDeclaredBytes(
      count * 4,
      memoryBudgetBytes,
      `${file}: the input of layer '${name}' (${field} ${JSON.stringify(shape)})`,
      'raise --memory-budget-mb',
    );
  }
}

/** Cycles and declared sizes of a layers-model topology (Sequential, functional, nested). */
export function checkLayersTopology(topology: unknown, file: string, weightElements: number, memoryBudgetBytes: number): void {
  for (const model of modelConfigs(topology)) {
    const layers = ((model.config as Json).layers as unknown[]).filter(isObject);
    const edges = new Map<string, string[]>();
    for (const layer of layers) {
      checkLayerSizes(layer, file, weightElements, memoryBudgetBytes);
      if (layer.inbound_nodes !== undefined) edges.set(layerName(layer), inboundNames(layer.inbound_nodes));
    }
    const names = new Set(layers.map(layerName));
    for (const [layer, inputs] of edges) {
      const unknown = inputs.find((name) => !names.has(name));
      if (unknown !== undefined) {
        // TF.js waits forever for a layer that never comes.
        throw new PathLensError(
          'model-json',
          `${file}: layer '${layer}' takes its input from '${unknown}', which is not a layer of its model`,
        );
      }
    }
    const cycle = findCycle(edges);
    if (cycle) throw new PathLensError('model-json', `${file}: the layers' inbound_nodes form a cycle (${describeCycle(cycle)}); refused`);
  }
}

/** Cycles in a graph model's nodes. Back-edges from NextIteration (TF1 while loops) are legitimate. */
export function checkGraphTopology(nodes: readonly { name: string; op: string; input?: string[] }[], file: string): void {
  const ops = new Map(nodes.map((n) => [n.name, n.op]));
  const nodeName = (ref: string) => ref.replace(/^\^/, '').replace(/:\d+$/, '');
  const edges = new Map<string, string[]>();
  for (const node of nodes) {
    edges.set(
      node.name,
      (node.input ?? []).map(nodeName).filter((producer) => ops.get(producer) !== 'NextIteration'),
    );
  }
  const cycle = findCycle(edges);
  if (cycle) throw new PathLensError('model-json', `${file}: the graph's node inputs form a cycle (${describeCycle(cycle)}); refused`);
}
