/**
 * PathLens's wasm32 SIMD kernels (C sources in native/wasm-kernels/, built into nativeBinary.ts by
 * its build.sh), instantiated on the TF.js wasm backend's own memory so that they read and write
 * tensors in place. Pointers are byte offsets into that memory, lengths are element counts.
 */
import { NATIVE_KERNELS_WASM_BASE64 } from './nativeBinary';
import type { WasmBackendLike } from './scope';

type Ptr = number;

export interface NativeKernels {
  batchnorm(x: Ptr, out: Ptr, pixels: number, channels: number, mean: Ptr, sd: Ptr, offset: Ptr, scale: Ptr): void;
  conv2d_backprop_input(dy: Ptr, w: Ptr, dx: Ptr, ...dims: number[]): void;
  depthwise_backprop_input(dy: Ptr, f: Ptr, dx: Ptr, ...dims: number[]): void;
  col2im(cols: Ptr, dx: Ptr, ...dims: number[]): void;
  depthwise_backprop_input_masked(dy: Ptr, f: Ptr, dx: Ptr, ym: Ptr, hi: number, ...dims: number[]): void;
  count_nonfinite(x: Ptr, n: number): number;
  add(a: Ptr, b: Ptr, out: Ptr, n: number): void;
  spatial_mean(x: Ptr, out: Ptr, batch: number, pixels: number, channels: number): void;
  gradient_row_stats(g: Ptr, dir: Ptr, out: Ptr, rows: number, size: number): void;
  mask_select(x: Ptr, dy: Ptr, out: Ptr, n: number, lo: number, hi: number): void;
  mask_multiply(x: Ptr, dy: Ptr, out: Ptr, n: number, lo: number, hi: number): void;
  channel_scale2(dy: Ptr, a: Ptr, b: Ptr, out: Ptr, pixels: number, channels: number): void;
  activation_batchnorm_grad(g: Ptr, y: Ptr, a: Ptr, b: Ptr, out: Ptr, pixels: number, channels: number, hi: number): void;
}

const instances = new WeakMap<WebAssembly.Memory, NativeKernels | null>();
let compiled: WebAssembly.Module | null | undefined;
let enabled = true;

/** Tests: run the composed fallbacks as on a runtime without WebAssembly SIMD. */
export function setNativeKernelsEnabled(on: boolean): void {
  enabled = on;
}

function compile(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const bytes = Buffer.from(NATIVE_KERNELS_WASM_BASE64, 'base64');
      compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** The kernels bound to this wasm backend's memory, or null (no SIMD in this runtime, or disabled). */
export function nativeKernels(backend: unknown): NativeKernels | null {
  if (!enabled) return null;
  const memory = (backend as WasmBackendLike).wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  const known = instances.get(memory);
  if (known !== undefined) return known;
  let kernels: NativeKernels | null = null;
  try {
    const mod = compile();
    if (mod != null) kernels = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as NativeKernels;
  } catch {
    kernels = null;
  }
  instances.set(memory, kernels);
  return kernels;
}
