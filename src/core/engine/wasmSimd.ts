/**
 * Hand-assembled WebAssembly SIMD kernels that work in place on the TF.js wasm backend's heap (they
 * import its `memory`), for element-wise gradient masks that TF.js composes from 4–5 slow generic
 * kernels (broadcasting comparisons, LogicalAnd, Select, ZerosLike each make a full pass, and the
 * comparisons with a scalar take the scalar broadcast path of wasm's binary op).
 *
 *   PathLensMaskGrad  dx = mask(x) ? dy : +0                 (mode 'select': ClipByValue's gradient,
 *                                                             mask = lo ≤ x ≤ hi — exactly
 *                                                             where(logicalAnd(x ≥ lo, x ≤ hi), dy, 0))
 *                     dx = dy · (lo < x ≤ hi ? 1 : 0)        (mode 'multiply': Relu6 / Relu gradients,
 *                                                             exactly dy · cast(x ≤ 6) · step(x) and
 *                                                             dy · step(x) of the wasm backend, whose
 *                                                             step(NaN) is NaN)
 *
 * The gradients of ClipByValue, Relu6 and Relu are re-registered to use this kernel when the current
 * backend has it (wasm), and the unchanged TF.js formulas otherwise. Results are bit-identical to the
 * wasm backend's own composition (tests in test/wasm-gradients.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  getGradient,
  getKernel,
  registerGradient,
  registerKernel,
  type GradConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

export const MASK_GRAD_KERNEL = 'PathLensMaskGrad';

// ---------------------------------------------------------------------------------------------
// a tiny assembler

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function f32c(v: number): number[] {
  return [0x43, ...new Uint8Array(new Float32Array([v]).buffer)];
}

const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  f32: f32c,
  i32Add: [0x6a],
  i32And: [0x71],
  i32Shl: [0x74],
  i32GeU: [0x4f],
  f32Ge: [0x60],
  f32Le: [0x5f],
  f32Gt: [0x5e],
  f32Ne: [0x5c],
  f32Mul: [0x94],
  select: [0x1b],
  f32Load: [0x2a, 2, 0],
  f32Store: [0x38, 2, 0],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};
const v = {
  load: op.simd(0x00, 2, 0),
  store: op.simd(0x0b, 2, 0),
  splat: op.simd(0x13),
  gt: op.simd(0x44),
  le: op.simd(0x45),
  ge: op.simd(0x46),
  ne: op.simd(0x42),
  and: op.simd(0x4e),
  or: op.simd(0x50),
  mul: op.simd(0xe6),
};

interface ElementwiseSpec {
  name: string;
  inputs: number;
  /** f32 parameters after (inputs…, out, n). */
  params: number;
  /** v128 result from the loaded inputs (locals vIn[k]) and splatted params (locals vPar[j]). */
  vector: (vIn: number[], vPar: number[]) => number[];
  /** f32 result from the loaded inputs (locals sIn[k]) and params (locals par[j]). */
  scalar: (sIn: number[], par: number[]) => number[];
}

/** Function body: a 4-wide SIMD loop, then a scalar tail. Pointers are byte offsets. */
function elementwiseBody(spec: ElementwiseSpec): { params: number[]; body: number[] } {
  const k = spec.inputs;
  const pIn = [...Array(k).keys()];
  const pOut = k;
  const pN = k + 1;
  const par = [...Array(spec.params).keys()].map((j) => k + 2 + j);
  let next = k + 2 + spec.params;
  const iL = next++;
  const endL = next++;
  const endV = next++;
  const sIn = pIn.map(() => next++);
  const vIn = pIn.map(() => next++);
  const vPar = par.map(() => next++);
  const locals = [
    [3, I32],
    [k, F32],
    [k + par.length, V128],
  ].filter(([c]) => c! > 0);
  const b: number[] = [];
  const push = (...xs: number[][]) => xs.forEach((x) => b.push(...x));
  push(op.get(pN), op.i32(2), op.i32Shl, op.set(endL));
  push(op.get(pN), op.i32(-4), op.i32And, op.i32(2), op.i32Shl, op.set(endV));
  par.forEach((p, j) => push(op.get(p), v.splat, op.set(vPar[j]!)));
  push(op.i32(0), op.set(iL));
  // vector loop
  push(op.block, op.loop, op.get(iL), op.get(endV), op.i32GeU, op.brIf(1));
  pIn.forEach((p, j) => push(op.get(p), op.get(iL), op.i32Add, v.load, op.set(vIn[j]!)));
  push(op.get(pOut), op.get(iL), op.i32Add, spec.vector(vIn, vPar), v.store);
  push(op.get(iL), op.i32(16), op.i32Add, op.set(iL), op.br(0), op.end, op.end);
  // scalar tail
  push(op.block, op.loop, op.get(iL), op.get(endL), op.i32GeU, op.brIf(1));
  pIn.forEach((p, j) => push(op.get(p), op.get(iL), op.i32Add, op.f32Load, op.set(sIn[j]!)));
  push(op.get(pOut), op.get(iL), op.i32Add, spec.scalar(sIn, par), op.f32Store);
  push(op.get(iL), op.i32(4), op.i32Add, op.set(iL), op.br(0), op.end, op.end);
  push(op.end);
  const localBytes = [...uleb(locals.length), ...locals.flatMap(([c, t]) => [...uleb(c!), t!])];
  return { params: [...Array(k + 2).fill(I32), ...Array(spec.params).fill(F32)], body: [...localBytes, ...b] };
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function str(s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

function assemble(specs: ElementwiseSpec[]): Uint8Array<ArrayBuffer> {
  const fns = specs.map(elementwiseBody);
  const types = fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), 0]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec(specs.map((s, i) => [...str(s.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map((f) => [...uleb(f.body.length), ...f.body]))),
  ];
  return new Uint8Array(bytes);
}

const SPECS: ElementwiseSpec[] = [
  {
    // (x, dy, out, n, lo, hi): lo ≤ x ≤ hi ? dy : +0
    name: 'select',
    inputs: 2,
    params: 2,
    vector: ([x, dy], [lo, hi]) => [
      ...op.get(x!),
      ...op.get(lo!),
      ...v.ge,
      ...op.get(x!),
      ...op.get(hi!),
      ...v.le,
      ...v.and,
      ...op.get(dy!),
      ...v.and,
    ],
    scalar: ([x, dy], [lo, hi]) => [
      ...op.get(dy!),
      ...op.f32(0),
      ...op.get(x!),
      ...op.get(lo!),
      ...op.f32Ge,
      ...op.get(x!),
      ...op.get(hi!),
      ...op.f32Le,
      ...op.i32And,
      ...op.select,
    ],
  },
  {
    // (x, dy, out, n, lo, hi): dy · m, m = lo < x ≤ hi ? 1 : x is NaN ? NaN : 0 (wasm's step(NaN) is NaN)
    name: 'multiply',
    inputs: 2,
    params: 2,
    vector: ([x, dy], [lo, hi]) => [
      ...op.get(dy!),
      ...op.get(x!),
      ...op.get(lo!),
      ...v.gt,
      ...op.get(x!),
      ...op.get(hi!),
      ...v.le,
      ...v.and,
      ...op.f32(1),
      ...v.splat,
      ...v.and,
      ...op.get(x!),
      ...op.get(x!),
      ...v.ne,
      ...op.get(x!),
      ...v.and,
      ...v.or,
      ...v.mul,
    ],
    scalar: ([x, dy], [lo, hi]) => [
      ...op.get(dy!),
      ...op.f32(1),
      ...op.get(x!),
      ...op.f32(0),
      ...op.get(x!),
      ...op.get(x!),
      ...op.f32Ne,
      ...op.select,
      ...op.get(x!),
      ...op.get(lo!),
      ...op.f32Gt,
      ...op.get(x!),
      ...op.get(hi!),
      ...op.f32Le,
      ...op.i32And,
      ...op.select,
      ...op.f32Mul,
    ],
  },
];

type MaskFn = (x: number, dy: number, out: number, n: number, lo: number, hi: number) => void;
interface SimdModule {
  select: MaskFn;
  multiply: MaskFn;
}

const instances = new WeakMap<WebAssembly.Memory, SimdModule | null>();
let moduleBytes: Uint8Array<ArrayBuffer> | null = null;
let compiled: WebAssembly.Module | null | undefined;

interface WasmBackendLike {
  wasm: { asm?: { memory?: WebAssembly.Memory }; HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: string): TensorInfo;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
}

/** The SIMD module bound to this wasm backend's memory, or null if that cannot be done. */
function simdFor(backend: WasmBackendLike): SimdModule | null {
  const memory = backend.wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  if (instances.has(memory)) return instances.get(memory)!;
  let mod: SimdModule | null = null;
  try {
    if (compiled === undefined) {
      moduleBytes = assemble(SPECS);
      compiled = WebAssembly.validate(moduleBytes) ? new WebAssembly.Module(moduleBytes) : null;
    }
    if (compiled != null) {
      const inst = new WebAssembly.Instance(compiled, { env: { memory } });
      mod = inst.exports as unknown as SimdModule;
    }
  } catch {
    mod = null;
  }
  instances.set(memory, mod);
  return mod;
}

/** Is the SIMD module usable on this backend (wasm with SIMD in this runtime)? */
export function simdAvailable(backend: unknown): boolean {
  return simdFor(backend as WasmBackendLike) != null;
}

const maskGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { lo, hi, mode } = attrs as unknown as { lo: number; hi: number; mode: 'select' | 'multiply' };
  const b = backend as unknown as WasmBackendLike;
  const mod = simdFor(b);
  if (mod == null) throw new Error(`PathLens: ${MASK_GRAD_KERNEL} needs WebAssembly SIMD.`);
  const out = b.makeOutput([...dy.shape], 'float32');
  const n = dy.shape.reduce((a, d) => a * d, 1);
  mod[mode](
    b.dataIdMap.get(x.dataId).memoryOffset,
    b.dataIdMap.get(dy.dataId).memoryOffset,
    b.dataIdMap.get(out.dataId).memoryOffset,
    n,
    lo,
    hi,
  );
  return out;
};

// ---------------------------------------------------------------------------------------------
// gradients

const ours = new WeakSet<GradConfig['gradFunc']>();

function fastPath(x: tf.Tensor, dy: tf.Tensor): boolean {
  const engine = tf.engine();
  if (engine.backendName !== 'wasm' || getKernel(MASK_GRAD_KERNEL, 'wasm') == null) return false;
  return (
    x.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    x.size === dy.size &&
    tf.util.arraysEqual(x.shape, dy.shape) &&
    simdAvailable(engine.backend)
  );
}

function maskGradOf(x: tf.Tensor, dy: tf.Tensor, lo: number, hi: number, mode: 'select' | 'multiply'): tf.Tensor {
  return tf.engine().runKernel(MASK_GRAD_KERNEL, { x, dy }, { lo, hi, mode }) as tf.Tensor;
}

const FAST_GRADS: Record<string, (dy: tf.Tensor, x: tf.Tensor, attrs: Record<string, unknown>) => tf.Tensor> = {
  ClipByValue: (dy, x, attrs) => maskGradOf(x, dy, attrs.clipValueMin as number, attrs.clipValueMax as number, 'select'),
  Relu6: (dy, x) => maskGradOf(x, dy, 0, 6, 'multiply'),
  Relu: (dy, x) => maskGradOf(x, dy, 0, Infinity, 'multiply'),
};

/**
 * Register the SIMD kernel for wasm and the ClipByValue / Relu6 / Relu gradients that use it there
 * (elsewhere, and for non-float inputs, they call TF.js' own gradient). Idempotent.
 */
export function registerSimdGradients(): void {
  if (getKernel(MASK_GRAD_KERNEL, 'wasm') == null) {
    registerKernel({ kernelName: MASK_GRAD_KERNEL, backendName: 'wasm', kernelFunc: maskGrad });
  }
  for (const [name, fast] of Object.entries(FAST_GRADS)) {
    const original = getGradient(name);
    if (original == null || ours.has(original.gradFunc)) continue;
    const gradFunc: GradConfig['gradFunc'] = (dy, saved, attrs) => {
      const x = saved[0]!;
      if (!Array.isArray(dy) && fastPath(x, dy)) return { x: () => fast(dy, x, attrs as Record<string, unknown>) };
      return original.gradFunc(dy, saved, attrs);
    };
    ours.add(gradFunc);
    registerGradient({
      kernelName: name,
      inputsToSave: original.inputsToSave,
      outputsToSave: original.outputsToSave,
      saveAllInputs: original.saveAllInputs,
      gradFunc,
    });
  }
}
