/**
 * Data-movement kernels on wasm.
 *
 * - UnsortedSegmentSum (missing on wasm; float32): one-hot(segmentIds)ᵀ · x via BatchMatMul; int32
 *   inputs (exact sums) and huge one-hot matrices use a typed-array loop.
 * - Tile (speed): when tiling only repeats size-1 axes it is a broadcast, done as Multiply(x, ones)
 *   (≈4x faster than wasm's generic loop; BatchNormalization's gradient tiles [1,1,1,C]).
 * - Identity (speed): shares the input's data (wasm copies it; customGrad clones every saved tensor,
 *   and the converter runs Identity nodes). Tensors are immutable, as the cpu backend assumes too.
 * - Slice (speed): wasm's copies the whole input out of the heap (readSync) and then row by row
 *   through fresh subarrays. Slices of 4-byte dtypes are copied inside the heap with copyWithin, one
 *   call per contiguous run (ZeroPadding2D's gradient is such a slice); a whole-tensor slice shares
 *   the data. PadV2 by nothing (that slice's gradient) shares it too.
 */
import { slice_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { callOriginal, heapOffset, scoped, type WasmBackendLike } from './scope';

/** Beyond this many one-hot entries UnsortedSegmentSum uses the loop instead of a matmul. */
const ONE_HOT_LIMIT = 1 << 24;

export const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  const b = backend as WasmBackendLike;
  const idRank = segmentIds.shape.length;
  if (!util.arraysEqual(x.shape.slice(0, idRank), segmentIds.shape)) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}].`);
  }
  const k = util.sizeFromShape(segmentIds.shape);
  const rest = x.shape.slice(idRank);
  const r = util.sizeFromShape(rest);
  const outShape = [numSegments, ...rest];
  if (x.dtype === 'float32' && k * numSegments <= ONE_HOT_LIMIT && k > 0 && r > 0) {
    return scoped(backend, (s) => {
      const ids = s.reshape(segmentIds, [k]);
      // Out-of-range ids give an all-zero one-hot row, i.e. they are dropped (as in TF).
      // (wasm's OneHot always writes int32, whatever `dtype` says, hence the Cast.)
      const ohInt = s.run('OneHot', { indices: ids }, { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' });
      const oh = s.run('Cast', { x: ohInt }, { dtype: 'float32' });
      const a = s.run('Transpose', { x: s.reshape(oh, [1, k, numSegments]) }, { perm: [0, 2, 1] });
      const xb = s.reshape(x, [1, k, r]);
      const out = s.run('BatchMatMul', { a, b: xb }, { transposeA: false, transposeB: false });
      return s.reshape(out, outShape);
    });
  }
  const out = b.makeOutput(outShape, x.dtype);
  const ov = b.typedArrayFromHeap(out);
  const xv = b.typedArrayFromHeap(x);
  const iv = b.typedArrayFromHeap(segmentIds);
  ov.fill(0);
  for (let i = 0; i < k; i++) {
    const sid = iv[i];
    if (sid < 0 || sid >= numSegments) continue;
    const src = i * r;
    const dst = sid * r;
    for (let j = 0; j < r; j++) ov[dst + j] += xv[src + j];
  }
  return out;
};

export const tile: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { reps } = args.attrs as unknown as { reps: number[] };
  const broadcastOnly = x.dtype === 'float32' && reps.length === x.shape.length && reps.every((r, i) => r === 1 || x.shape[i] === 1);
  if (!broadcastOnly || reps.every((r) => r === 1)) {
    return callOriginal('Tile', args);
  }
  const outShape = x.shape.map((d, i) => d * reps[i]);
  return scoped(args.backend, (s) => s.run('Multiply', { a: x, b: s.fill(outShape, 1) }));
};

/** A tensor sharing x's data (tensors are immutable). */
function shareData(backend: WasmBackendLike, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export const identity: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') return callOriginal('Identity', args);
  return shareData(args.backend as WasmBackendLike, x);
};

/**
 * PadV2 (speed): padding by nothing (the gradient of a whole-tensor Slice) shares the data; other
 * constant paddings of 4-byte dtypes fill the output and copy x's rows inside the heap (wasm's
 * generic loop takes ~10x longer for ZeroPadding2D on an image batch).
 */
export const padV2: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { paddings, constantValue } = args.attrs as unknown as { paddings: [number, number][]; constantValue: number };
  const backend = args.backend as WasmBackendLike;
  const padded = paddings.map(([before, after]) => before !== 0 || after !== 0);
  if (x.dtype !== 'string' && !padded.includes(true)) return shareData(backend, x);
  const fits = paddings.length === x.shape.length && paddings.every(([b, a]) => b >= 0 && a >= 0);
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || !fits || x.shape.some((d) => d === 0)) return callOriginal('PadV2', args);
  const outShape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
  const out = backend.makeOutput(outShape, x.dtype);
  // Views after the allocation (the heap may have grown).
  const buffer = backend.wasm.HEAPU8.buffer;
  const [xAt, outAt] = [heapOffset(backend, x) / 4, heapOffset(backend, out) / 4];
  const size = util.sizeFromShape(outShape);
  (x.dtype === 'float32' ? new Float32Array(buffer) : new Int32Array(buffer)).fill(constantValue, outAt, outAt + size);
  copyRows(new Int32Array(buffer), xAt, outAt, x.shape, outShape, paddings, padded.lastIndexOf(true));
  return out;
};

/** Copy x into the padded output, one contiguous run (dims last.. of x) at a time. */
function copyRows(
  heap: Int32Array,
  xAt: number,
  outAt: number,
  shape: number[],
  outShape: number[],
  paddings: [number, number][],
  last: number,
): void {
  const run = util.sizeFromShape(shape.slice(last));
  const xStrides = [...util.computeStrides(shape), 1];
  const outStrides = [...util.computeStrides(outShape), 1];
  const idx = new Array<number>(last).fill(0);
  for (;;) {
    let src = xAt;
    let dst = outAt + paddings[last]![0] * outStrides[last]!;
    for (let d = 0; d < last; d++) {
      src += idx[d]! * xStrides[d]!;
      dst += (idx[d]! + paddings[d]![0]) * outStrides[d]!;
    }
    heap.copyWithin(dst, src, src + run);
    let d = last - 1;
    while (d >= 0 && ++idx[d]! === shape[d]) idx[d--] = 0;
    if (d < 0) break;
  }
}

export const slice: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [b, sz] = slice_util.parseSliceParams(x as never, begin, size);
  const rank = x.shape.length;
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || rank === 0 || sz.some((d) => d <= 0)) {
    return callOriginal('Slice', args);
  }
  const backend = args.backend as WasmBackendLike;
  if (util.arraysEqual(sz, x.shape)) return shareData(backend, x);
  const out = backend.makeOutput(sz, x.dtype);
  // After the allocation (the heap may have grown).
  const heap = new Int32Array(backend.wasm.HEAPU8.buffer);
  const xBase = backend.dataIdMap.get(x.dataId).memoryOffset / 4;
  let o = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
  // Innermost contiguous run: trailing dims taken whole, plus the last partially taken dim.
  let last = rank - 1;
  let run = 1;
  while (last > 0 && b[last] === 0 && sz[last] === x.shape[last]) run *= x.shape[last--]!;
  run *= sz[last]!;
  const strides = util.computeStrides(x.shape);
  strides.push(1);
  const idx = new Array<number>(last).fill(0);
  for (;;) {
    let off = xBase + b[last]! * strides[last]!;
    for (let d = 0; d < last; d++) off += (b[d]! + idx[d]!) * strides[d]!;
    heap.copyWithin(o, off, off + run);
    o += run;
    let d = last - 1;
    while (d >= 0 && ++idx[d]! === sz[d]) idx[d--] = 0;
    if (d < 0) break;
  }
  return out;
};
