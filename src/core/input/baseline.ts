/**
 * Baselines x' for path methods, computed in model input space on plain typed arrays.
 */
import { extname } from 'node:path';
import { PathLensError } from '../errors';
import { createRng } from '../random';
import type { BaselineSpec, PreparedInput, Preprocessing } from '../types';
import { gaussianBlur } from './blur';
import { sniffImageFormat, decodeImage } from './image';
import { parseJsonInputs, prepareImage, readInputFile, type LoadOptions } from './load';
import { normalizePixel, type InputPreprocessing } from './preprocess';
import type { TensorLayout } from '../model/inputLayout';

export interface BaselineContext {
  /** The preprocessing the input was prepared with (null for tensor/tabular inputs). */
  preprocessing: Preprocessing | InputPreprocessing | null;
  /** Seed for `uniform` / `gaussian`. */
  seed: number;
  /** Reads a baseline file; default `fs.readFileSync`. */
  loadFile?: (path: string) => Uint8Array;
  /** Image preparation options for `{file}` image baselines (crop / grayFrom), normally the ones used for inputs. */
  imageOptions?: Pick<LoadOptions, 'grayFrom' | 'crop'>;
  /** The model's tensor layout (NCHW ONNX models): `.json` baselines are written in it, as inputs are. */
  tensorLayout?: TensorLayout;
}

/** Relative standard deviation of the `gaussian` baseline: σ = GAUSSIAN_BASELINE_REL_STD · (max − min). */
export const GAUSSIAN_BASELINE_REL_STD = 0.15;
/** `blur` baseline σ in pixels = max(H, W) / BLUR_BASELINE_DIVISOR. */
export const BLUR_BASELINE_DIVISOR = 20;

/** Human-readable name of a baseline spec (`zero`, `file:path`). */
export function baselineName(spec: BaselineSpec): string {
  return typeof spec === 'string' ? spec : `file:${spec.file}`;
}

/** Valid range of an input: the image's preprocessed [pixel 0, pixel 255], else the input's own min/max. */
export function inputRange(input: PreparedInput): [number, number] {
  if (input.range) return input.range;
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < input.data.length; i++) {
    const v = input.data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 0];
  return [lo, hi];
}

function requireImage(spec: string, input: PreparedInput, ctx: BaselineContext): Preprocessing {
  if (input.kind !== 'image' || input.shape.length !== 3) {
    throw new PathLensError(
      'baseline',
      `Baseline "${spec}" only applies to image inputs; ${input.path} is a ${input.kind} input of shape [${input.shape.join(', ')}]. Use zero, uniform, gaussian or a file baseline.`,
    );
  }
  if (!ctx.preprocessing) {
    throw new PathLensError('baseline', `Baseline "${spec}" needs the image preprocessing for ${input.path}, but none was given.`);
  }
  return ctx.preprocessing;
}

function constantPixel(pixel: number, input: PreparedInput, p: Preprocessing): Float32Array {
  const channels = input.shape[input.shape.length - 1];
  const out = new Float32Array(input.data.length);
  for (let i = 0; i < out.length; i++) out[i] = normalizePixel(p, pixel, i % channels);
  return out;
}

/**
 * Make the baseline x' for `input` (same length/layout as `input.data`):
 * - `zero`: all zeros in model space (for `signed` images that is mid-gray; for `unit`, black);
 * - `black` / `white`: the preprocessed pixel value 0 / 255 per channel (images only);
 * - `uniform`: seeded U(min, max) per element over the input range;
 * - `gaussian`: seeded x + N(0, σ²) with σ = 0.15·(max − min), clipped to [min, max];
 * - `blur`: Gaussian blur of the input in model space (see blur.ts: separable, zero padding,
 *   truncated at 4σ) with σ = max(H, W) / 20 pixels (images only);
 * - `{file}`: a `.json` tensor (shape as an input, batch of one allowed) or an image file prepared
 *   exactly like the input (same resize, gray conversion and preprocessing).
 * The range is the image's preprocessed [pixel 0, pixel 255] (input.range), or for non-image inputs
 * the input's own min/max.
 */
export function makeBaseline(spec: BaselineSpec, input: PreparedInput, ctx: BaselineContext): Float32Array {
  const n = input.data.length;
  if (typeof spec === 'object' && spec !== null && typeof spec.file === 'string') return fileBaseline(spec.file, input, ctx);
  switch (spec) {
    case 'zero':
      return new Float32Array(n);
    case 'black':
      return constantPixel(0, input, requireImage(spec, input, ctx));
    case 'white':
      return constantPixel(255, input, requireImage(spec, input, ctx));
    case 'uniform': {
      const [lo, hi] = inputRange(input);
      const rng = createRng(ctx.seed);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = rng.range(lo, hi);
      return out;
    }
    case 'gaussian': {
      const [lo, hi] = inputRange(input);
      const sigma = GAUSSIAN_BASELINE_REL_STD * (hi - lo);
      const rng = createRng(ctx.seed);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = input.data[i] + sigma * rng.normal();
        out[i] = v < lo ? lo : v > hi ? hi : v;
      }
      return out;
    }
    case 'blur': {
      requireImage(spec, input, ctx);
      const [h, w, c] = input.shape;
      return gaussianBlur(input.data, h, w, c, Math.max(h, w) / BLUR_BASELINE_DIVISOR);
    }
    default:
      throw new PathLensError(
        'baseline',
        `Unknown baseline ${JSON.stringify(spec)}: use zero, black, white, uniform, gaussian, blur, or a .json/.png/.jpg file.`,
      );
  }
}

function fileBaseline(file: string, input: PreparedInput, ctx: BaselineContext): Float32Array {
  let bytes: Uint8Array;
  try {
    bytes = (ctx.loadFile ?? ((p: string) => readInputFile(p, 'baseline file')))(file);
  } catch (err) {
    if (err instanceof PathLensError) throw err.code === 'input' ? new PathLensError('baseline', `Baseline: ${err.message}`) : err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new PathLensError(
      'baseline',
      `Cannot read baseline file ${file}: ${code === 'ENOENT' ? 'file not found' : err instanceof Error ? err.message : String(err)}.`,
    );
  }
  const ext = extname(file).toLowerCase();
  try {
    if (ext === '.json') {
      const items = parseJsonInputs(new TextDecoder().decode(bytes), file, input.shape, undefined, ctx.tensorLayout);
      if (items.length !== 1 || items[0]!.shape.join() !== input.shape.join()) {
        throw new PathLensError(
          'baseline',
          `Baseline file ${file} holds ${items.length === 1 ? 'a tensor of another size' : `${items.length} tensors`}; a baseline must be a single tensor of the input's shape [${(ctx.tensorLayout?.channelsFirst ? [input.shape[2], input.shape[0], input.shape[1]] : input.shape).join(', ')}].`,
        );
      }
      return items[0].data;
    }
    if (sniffImageFormat(bytes) !== null || ['.png', '.jpg', '.jpeg'].includes(ext)) {
      const p = requireImage(`file:${file}`, input, ctx);
      const img = decodeImage(bytes, file);
      const grayFrom = ctx.imageOptions?.grayFrom ?? (p as InputPreprocessing).grayFrom;
      return prepareImage(img, file, input.shape, p, { ...ctx.imageOptions, grayFrom }).data;
    }
  } catch (err) {
    if (err instanceof PathLensError && err.code === 'input') throw new PathLensError('baseline', `Baseline: ${err.message}`);
    throw err;
  }
  throw new PathLensError('baseline', `Unsupported baseline file ${file}: expected a .json tensor or a PNG/JPEG image.`);
}
