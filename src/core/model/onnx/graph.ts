/**
 * The imported graph and its execution plans. A plan is the graph specialised to one input shape: every
 * node whose inputs are constant (initializers, Constant, and Shape/Size of anything, since the shape is
 * bound) is computed once and kept; the plan then runs only the nodes that depend on the input's values,
 * which is the clean differentiable graph `tf.grad` sees.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PathLensError } from '../../errors';
import { ONNX_OPS, SHAPE_ONLY_OPS, type OpContext, type OpFn } from './ops';
import { Attributes, type NodeProto } from './proto';
import { readTensor, type TensorReadContext } from './tensor';

export interface GraphNode {
  name: string;
  opType: string;
  opset: number;
  inputs: string[];
  outputs: string[];
  attrs: Attributes;
  fn: OpFn;
  foldedBatchNorm?: string;
}

export interface GraphSpec {
  nodes: GraphNode[];
  inputName: string;
  outputName: string;
  readContext: TensorReadContext;
}

/** Builds nodes, refusing every unsupported op at once (type, one node name, the opset) before computing. */
export function buildNodes(protos: NodeProto[], opsets: Record<string, number>, file: string): GraphNode[] {
  const opset = opsets['ai.onnx'] ?? 0;
  const missing = new Map<string, string>();
  const nodes = protos.map((p, i): GraphNode => {
    const opType = p.opType ?? '';
    const domain = p.domain && p.domain !== 'ai.onnx' ? p.domain : '';
    const name = p.name || `${opType}_${i}`;
    const fn = domain === '' ? ONNX_OPS.get(opType) : undefined;
    const key = domain ? `${domain}.${opType}` : opType;
    if (!fn && !missing.has(key)) missing.set(key, name);
    return { name, opType, opset, inputs: p.input ?? [], outputs: p.output ?? [], attrs: new Attributes(p, name), fn: fn! };
  });
  if (missing.size > 0) {
    const list = [...missing].map(([op, node]) => `${op} (node '${node}')`).join(', ');
    throw new PathLensError('model-unsupported', `${file} (ai.onnx opset ${opset}) uses ops PathLens cannot import: ${list}`);
  }
  return nodes;
}

export class ExecutionPlan {
  /** Folded values and TF.js-layout weights, owned by the plan. */
  private readonly owned: tf.Tensor[] = [];
  readonly constants = new Map<string, tf.Tensor>();
  readonly steps: GraphNode[] = [];
  readonly outputShapes = new Map<string, number[]>();
  readonly folded = new Set<string>();
  private readonly constantTensors = new Set<tf.Tensor>();
  private readonly caches = new Map<string, tf.Tensor>();

  constructor(
    private readonly spec: GraphSpec,
    weights: ReadonlyMap<string, tf.Tensor>,
    inputShape: number[],
  ) {
    for (const [name, t] of weights) {
      this.constants.set(name, t);
      this.constantTensors.add(t);
    }
    tf.tidy(() => this.specialise(inputShape));
  }

  private specialise(inputShape: number[]): void {
    const values = new Map<string, tf.Tensor>([[this.spec.inputName, tf.zeros(inputShape)]]);
    for (const node of this.spec.nodes) {
      const inputs = node.inputs.map((n) => (n ? (this.constants.get(n) ?? values.get(n)) : undefined));
      node.inputs.forEach((n, i) => {
        if (n && !inputs[i])
          throw new PathLensError('model-load', `ONNX node '${node.name}' reads '${n}', which no node or initializer produces`);
      });
      const constant = SHAPE_ONLY_OPS.has(node.opType) || inputs.every((t) => !t || this.constantTensors.has(t));
      const outputs = this.apply(node, inputs);
      node.outputs.forEach((name, i) => {
        const t = outputs[i];
        if (name && !t) node.attrs.unsupported(`output ${i} ('${name}')`);
        if (!name || !t) return;
        this.outputShapes.set(name, t.shape);
        if (constant) {
          this.keep(t);
          this.constants.set(name, t);
        } else values.set(name, t);
      });
      if (constant) this.folded.add(node.name);
      else this.steps.push(node);
    }
  }

  private keep(t: tf.Tensor): void {
    if (this.constantTensors.has(t)) return;
    tf.keep(t);
    this.owned.push(t);
    this.constantTensors.add(t);
  }

  private context(node: GraphNode): OpContext {
    return {
      attrs: node.attrs,
      opset: node.opset,
      name: node.name,
      // Derived weights (TF.js-layout filters) are cached when the tensors they derive from are constants.
      cached: (key, sources, make) => {
        if (!sources.every((t) => this.constantTensors.has(t))) return make();
        const full = `${node.name}\u0000${key}`;
        let t = this.caches.get(full);
        if (!t) {
          t = tf.keep(make());
          this.owned.push(t);
          this.caches.set(full, t);
        }
        return t;
      },
      tensorAttr: (name) => {
        const proto = node.attrs.tensor(name);
        if (!proto) return null;
        const host = readTensor(proto, `attribute '${name}' of node '${node.name}'`, this.spec.readContext);
        return tf.tensor(host.data, host.dims, host.dtype);
      },
    };
  }

  private apply(node: GraphNode, inputs: (tf.Tensor | undefined)[]): tf.Tensor[] {
    try {
      const out = node.fn(inputs, this.context(node));
      return Array.isArray(out) ? out : [out];
    } catch (err) {
      if (err instanceof PathLensError) throw err;
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      const shapes = inputs.map((t) => (t ? `[${t.shape}]` : '-')).join(', ');
      throw new PathLensError('model-load', `ONNX node '${node.name}' (${node.opType}, inputs ${shapes}) failed: ${why}`);
    }
  }

  /** Runs the input-dependent nodes on `x` until `target` is computed. */
  run(x: tf.Tensor, target: string): tf.Tensor {
    const values = new Map<string, tf.Tensor>([[this.spec.inputName, x]]);
    const get = (n: string) => (n ? (values.get(n) ?? this.constants.get(n)) : undefined);
    const done = this.constants.get(target);
    if (done) return done;
    for (const node of this.steps) {
      const outputs = this.apply(node, node.inputs.map(get));
      node.outputs.forEach((name, i) => outputs[i] && name && values.set(name, outputs[i]));
      const hit = values.get(target);
      if (hit) return hit;
    }
    throw new PathLensError('internal', `ONNX value '${target}' is not computed by the graph`);
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.length = 0;
  }
}
