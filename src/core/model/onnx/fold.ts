/**
 * Folding an inference-only BatchNormalization into the Conv before it: W' = W·s, b' = (b − μ)·s + β with
 * s = γ / √(σ² + ε) per output channel. Only when the Conv's output feeds nothing else, and its weight
 * and bias (and the BN's statistics) are initializers no other node reads.
 */
import type { GraphNode } from './graph';
import type { HostTensor } from './tensor';

function consumers(nodes: GraphNode[]): Map<string, GraphNode[]> {
  const out = new Map<string, GraphNode[]>();
  for (const n of nodes) for (const i of n.inputs) if (i) out.set(i, [...(out.get(i) ?? []), n]);
  return out;
}

function floatInitializer(inits: Map<string, HostTensor>, name: string | undefined): Float32Array | null {
  const t = name ? inits.get(name) : undefined;
  return t && t.dtype === 'float32' ? (t.data as Float32Array) : null;
}

/** Rewrites `nodes` and `inits` in place; returns how many BatchNormalization nodes were folded. */
export function foldBatchNorms(nodes: GraphNode[], inits: Map<string, HostTensor>, graphOutputs: Set<string>): number {
  const readers = consumers(nodes);
  let folded = 0;
  for (const conv of [...nodes]) {
    if (conv.opType !== 'Conv') continue;
    const out = conv.outputs[0]!;
    const next = readers.get(out);
    if (graphOutputs.has(out) || next?.length !== 1) continue;
    const bn = next[0]!;
    if (bn.opType !== 'BatchNormalization' || bn.inputs[0] !== out || bn.attrs.int('training_mode', 0) === 1) continue;
    if (bn.outputs.slice(1).some((o) => o && readers.has(o))) continue;
    const exclusive = [conv.inputs[1], conv.inputs[2]].every((n) => !n || readers.get(n)?.length === 1);
    const w = inits.get(conv.inputs[1] ?? '');
    const [gamma, beta, mean, variance] = bn.inputs.slice(1, 5).map((n) => floatInitializer(inits, n));
    const bias = conv.inputs[2] ? floatInitializer(inits, conv.inputs[2]) : new Float32Array(w?.dims[0] ?? 0);
    if (!exclusive || !w || w.dtype !== 'float32' || !gamma || !beta || !mean || !variance || !bias) continue;
    const channels = w.dims[0]!;
    const eps = bn.attrs.float('epsilon', 1e-5);
    const perChannel = (w.data.length / channels) | 0;
    const newW = new Float32Array(w.data.length);
    const newB = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      const s = gamma[c]! / Math.sqrt(variance[c]! + eps);
      for (let k = 0; k < perChannel; k++) newW[c * perChannel + k] = (w.data[c * perChannel + k] as number) * s;
      newB[c] = (bias[c]! - mean[c]!) * s + beta[c]!;
    }
    const biasName = conv.inputs[2] || `${bn.name}::folded_bias`;
    inits.set(conv.inputs[1]!, { ...w, data: newW });
    inits.set(biasName, { dtype: 'float32', dims: [channels], data: newB });
    conv.inputs = [conv.inputs[0]!, conv.inputs[1]!, biasName];
    conv.outputs = [bn.outputs[0]!];
    conv.foldedBatchNorm = bn.name;
    nodes.splice(nodes.indexOf(bn), 1);
    folded++;
  }
  return folded;
}
