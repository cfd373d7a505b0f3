/**
 * Turning files into model inputs (`PreparedInput`): images, JSON tensors and CSV rows.
 */
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { PathLensError } from '../errors';
import {
  describeFsError,
  MAX_IMAGE_FILE_BYTES,
  MAX_INPUT_FILES,
  MAX_TEXT_FILE_BYTES,
  parseJsonText,
  readRegularFile,
  requireRegularFile,
} from '../safety';
import type { PreparedInput, Preprocessing } from '../types';
import { centerCropSquare, decodeImage, resizeBilinear, sniffImageFormat, type RgbaImage } from './image';
import { normalizePixel, preprocessRange, type GrayFrom, type InputPreprocessing } from './preprocess';
import { chwToHwc, presentedShape, type TensorLayout } from '../model/inputLayout';

export interface ModelInputInfo {
  /** Per-example input shape (no batch dimension), e.g. [224, 224, 3] or [54]. */
  inputShape: number[];
  /** Set when `.json` tensors are written in another layout than `inputShape` (NCHW ONNX models) or may bind symbolic dims. */
  tensorLayout?: TensorLayout;
}

export interface LoadOptions {
  /** At most this many rows per CSV file (and items per JSON batch). Default: all. */
  maxRows?: number;
  /** Gray conversion for 1-channel image models; overrides `preprocessing.grayFrom`. Default 'luminance'. */
  grayFrom?: GrayFrom;
  /** `'center'` crops the central square before resizing (Teachable Machine style). Default `'none'` (stretch). */
  crop?: 'none' | 'center';
  /** Reads a file (tests/worker can inject). Default: `fs.readFileSync`. */
  readFile?: (path: string) => Uint8Array;
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];
export const INPUT_EXTENSIONS = [...IMAGE_EXTENSIONS, '.json', '.csv'];

const LABEL_COLUMNS = new Set(['class', 'label', 'target']);

function shapeText(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isImageModel(shape: readonly number[]): boolean {
  return shape.length === 3;
}

/**
 * Reads an input, data or baseline file: regular files only (a FIFO would block, a device never
 * end), at most MAX_IMAGE_FILE_BYTES for images and MAX_TEXT_FILE_BYTES otherwise.
 */
export function readInputFile(path: string, what = 'input'): Uint8Array {
  const limit = IMAGE_EXTENSIONS.includes(extname(path).toLowerCase()) ? MAX_IMAGE_FILE_BYTES : MAX_TEXT_FILE_BYTES;
  return readRegularFile(path, what, limit, 'input');
}

function statOrExplain(path: string, what: string) {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !isSymlink(path)) throw new PathLensError('input', `Input not found: ${path}`);
    throw new PathLensError('input', `${what}: ${describeFsError(err, path)}`);
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A folder's image/json/csv files (non-recursive, sorted); broken links and special files are named. */
function folderInputs(folder: string): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (err) {
    throw new PathLensError('input', `Input folder: ${describeFsError(err, folder)}`);
  }
  const files = names
    .filter((name) => INPUT_EXTENSIONS.includes(extname(name).toLowerCase()))
    .sort()
    .map((name) => join(folder, name))
    .filter((f) => {
      const st = statOrExplain(f, `In input folder ${folder}`);
      if (st.isDirectory()) return false; // a folder named x.png is not an input
      requireRegularFile(f, `In input folder ${folder}`, st);
      return true;
    });
  if (files.length === 0) {
    throw new PathLensError('input', `Input directory ${folder} has no image (.png/.jpg/.jpeg), .json or .csv files.`);
  }
  return files;
}

/** Expand directories (non-recursive, sorted, only image/json/csv files); keep files as given. */
export function expandInputPaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (p === '') throw new PathLensError('usage', 'An input path is empty.');
    const st = statOrExplain(p, 'Input');
    if (st.isDirectory()) out.push(...folderInputs(p));
    else {
      requireRegularFile(p, 'Input', st);
      out.push(p);
    }
    if (out.length > MAX_INPUT_FILES) {
      throw new PathLensError('limit', `The inputs hold more than ${MAX_INPUT_FILES} files; explain them in smaller sets.`);
    }
  }
  return out;
}

/**
 * Prepare a decoded RGBA image for an image model with input shape [H, W, C] (C = 1 or 3):
 * optional centre crop, bilinear resize (half-pixel centres) to H×W, alpha dropped, RGB→gray
 * (luminance or red channel) for C = 1, then `(pixel − mean[c]) / std[c]`.
 */
export function prepareImage(
  img: RgbaImage,
  path: string,
  inputShape: readonly number[],
  preprocessing: Preprocessing,
  options: Pick<LoadOptions, 'grayFrom' | 'crop'> = {},
): PreparedInput {
  if (!isImageModel(inputShape)) {
    throw new PathLensError(
      'input',
      `${path} is an image, but the model expects input shape ${shapeText(inputShape)} (not an image [height, width, channels]). Use a .json or .csv input.`,
    );
  }
  const [h, w, c] = inputShape;
  if (c !== 1 && c !== 3) {
    throw new PathLensError(
      'input',
      `${path}: image inputs need a model with 1 or 3 channels; this model expects ${shapeText(inputShape)}.`,
    );
  }
  const src = options.crop === 'center' ? centerCropSquare(img) : img;
  const resized = resizeBilinear(src.rgba, src.width, src.height, 4, w, h);
  const grayFrom = options.grayFrom ?? (preprocessing as InputPreprocessing).grayFrom ?? 'luminance';
  const data = new Float32Array(h * w * c);
  const rgba = new Uint8Array(h * w * 4);
  const clampByte = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));
  for (let i = 0; i < h * w; i++) {
    const r = resized[i * 4],
      g = resized[i * 4 + 1],
      b = resized[i * 4 + 2];
    if (c === 3) {
      data[i * 3] = normalizePixel(preprocessing, r, 0);
      data[i * 3 + 1] = normalizePixel(preprocessing, g, 1);
      data[i * 3 + 2] = normalizePixel(preprocessing, b, 2);
      rgba[i * 4] = clampByte(r);
      rgba[i * 4 + 1] = clampByte(g);
      rgba[i * 4 + 2] = clampByte(b);
    } else {
      const gray = grayFrom === 'red' ? r : 0.299 * r + 0.587 * g + 0.114 * b;
      data[i] = normalizePixel(preprocessing, gray, 0);
      rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = clampByte(gray);
    }
    rgba[i * 4 + 3] = 255;
  }
  return {
    path,
    kind: 'image',
    shape: [h, w, c],
    data,
    display: { width: w, height: h, rgba },
    range: preprocessRange(preprocessing, c),
  };
}

/** Shape of a nested JSON array; throws on ragged arrays or non-numbers. */
function nestedShape(value: unknown, path: string): number[] {
  const shape: number[] = [];
  let cur: unknown = value;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  const flatCount = product(shape);
  const check = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new PathLensError('input', `${path}: every tensor value must be a finite number (found ${JSON.stringify(v)}).`);
      }
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new PathLensError('input', `${path}: nested array is ragged at depth ${depth} (expected length ${shape[depth]}).`);
    }
    for (const item of v) check(item, depth + 1);
  };
  if (flatCount === 0 || shape.length === 0) {
    throw new PathLensError(
      'input',
      `${path}: expected a non-empty nested array of numbers (a tensor), got ${shape.length === 0 ? typeof value : 'an empty array'}.`,
    );
  }
  check(value, 0);
  return shape;
}

function flatten(value: unknown, out: Float32Array, offset = { i: 0 }): Float32Array {
  if (Array.isArray(value)) for (const v of value) flatten(v, out, offset);
  else out[offset.i++] = value as number;
  return out;
}

/**
 * Parse a JSON tensor file: a nested array in the model's input shape, `[1, ...shape]`, or a batch
 * `[N, ...shape]` (→ N inputs named `file.json#<k>`, 1-based). No preprocessing is applied. With a
 * `layout` the tensor is written in the model's own layout (e.g. NCHW, transposed to [H, W, C]) and
 * its symbolic dims take the tensor's sizes.
 */
export function parseJsonInputs(
  text: string,
  path: string,
  inputShape: readonly number[],
  maxRows?: number,
  layout?: TensorLayout,
): PreparedInput[] {
  const json = parseJsonText(text, path, 'input');
  const got = nestedShape(json, path);
  const flat = flatten(json, new Float32Array(product(got)));
  const expected = layout?.fileShape ?? inputShape;
  const fits = (shape: readonly number[]) =>
    shape.length === expected.length && shape.every((v, i) => v === expected[i] || (layout?.free[i] === true && v > 0));
  const batched = !fits(got) && got.length === expected.length + 1 && fits(got.slice(1));
  if (!fits(got) && !batched) {
    const want = shapeText(expected.map((d, i) => (layout?.free[i] ? `${d}?` : d)));
    const rest = want.slice(1, -1);
    throw new PathLensError(
      'input',
      `${path}: tensor shape ${shapeText(got)} does not match the model input: expected ${want} (or [1, ${rest}] / [N, ${rest}] for a batch)${layout?.channelsFirst ? " in the model's channels-first layout" : ''}${layout?.free.some((f) => f) ? '; ? marks a symbolic size the tensor may choose' : ''}.`,
    );
  }
  const fileShape = batched ? got.slice(1) : got;
  const n = batched ? Math.min(got[0], maxRows ?? Infinity) : 1;
  const size = product(fileShape);
  const shape = presentedShape(fileShape, layout?.channelsFirst === true);
  const item = (data: Float32Array, name: string): PreparedInput => ({
    path: name,
    kind: 'tensor',
    shape,
    data: layout?.channelsFirst ? chwToHwc(data, fileShape) : data,
  });
  if (!batched || got[0] === 1) return [item(flat, path)];
  return Array.from({ length: n }, (_, k) => item(flat.slice(k * size, (k + 1) * size), `${path}#${k + 1}`));
}

function splitCsvLine(line: string, sep: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = false;
      } else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === sep) {
      cells.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  cells.push(cur.trim());
  return cells;
}

function isNumeric(cell: string): boolean {
  return cell !== '' && Number.isFinite(Number(cell));
}

/**
 * Parse CSV text into tabular inputs: one input per data row, named `file.csv#row<N>` (N = 1-based
 * data row, header excluded). Separator `,` or `;` is auto-detected from the first line; a header is
 * detected when the first row has a non-numeric cell. Rows must have exactly as many values as the
 * model has features, except that one extra trailing column is dropped when the header names it
 * `class`, `label` or `target` (case-insensitive). Quoted cells ("a;b") are supported.
 */
export function parseCsvInputs(text: string, path: string, inputShape: readonly number[], maxRows?: number): PreparedInput[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const nonEmpty = lines.map((l, i) => ({ line: l, lineNo: i + 1 })).filter((l) => l.line.trim() !== '');
  if (nonEmpty.length === 0) throw new PathLensError('input', `${path}: the CSV file is empty.`);
  const first = nonEmpty[0].line;
  const count = (s: string, ch: string) => s.split(ch).length - 1;
  const sep = count(first, ';') > count(first, ',') ? ';' : ',';
  const firstCells = splitCsvLine(first, sep);
  const hasHeader = firstCells.some((c) => !isNumeric(c));
  const header = hasHeader ? firstCells : null;
  const features = product(inputShape);
  let width = features;
  const headerWidth = header?.length ?? firstCells.length;
  if (header && headerWidth === features + 1 && LABEL_COLUMNS.has(header[headerWidth - 1].toLowerCase())) {
    width = features + 1;
  }
  if (headerWidth !== width) {
    throw new PathLensError(
      'input',
      `${path}: ${hasHeader ? 'header has' : 'rows have'} ${headerWidth} columns, but the model expects ${features} features (input shape ${shapeText(inputShape)})` +
        (header ? '; an extra trailing column is only dropped when its header is class, label or target.' : '.'),
    );
  }
  const rows = hasHeader ? nonEmpty.slice(1) : nonEmpty;
  if (rows.length === 0) throw new PathLensError('input', `${path}: the CSV file has a header but no data rows.`);
  const limit = Math.min(rows.length, maxRows ?? Infinity);
  const featureNames = header ? header.slice(0, features) : undefined;
  const out: PreparedInput[] = [];
  for (let r = 0; r < limit; r++) {
    const { line, lineNo } = rows[r];
    const cells = splitCsvLine(line, sep);
    if (cells.length !== width) {
      throw new PathLensError('input', `${path}, line ${lineNo}: expected ${width} values, got ${cells.length}.`);
    }
    const data = new Float32Array(features);
    for (let i = 0; i < features; i++) {
      if (!isNumeric(cells[i])) {
        const col = header ? `"${header[i]}"` : `${i + 1}`;
        throw new PathLensError('input', `${path}, line ${lineNo}, column ${col}: "${cells[i]}" is not a number.`);
      }
      data[i] = Number(cells[i]);
    }
    out.push({
      path: `${path}#row${r + 1}`,
      kind: 'tabular',
      shape: [...inputShape],
      data,
      ...(featureNames ? { featureNames: [...featureNames] } : {}),
    });
  }
  return out;
}

/** Prepare one file (already read) for the model; see `loadInputs`. */
export function prepareFile(
  path: string,
  bytes: Uint8Array,
  model: ModelInputInfo,
  preprocessing: Preprocessing | null,
  options: LoadOptions = {},
): PreparedInput[] {
  const ext = extname(path).toLowerCase();
  const sniffed = sniffImageFormat(bytes);
  if (IMAGE_EXTENSIONS.includes(ext) || (sniffed !== null && ext !== '.json' && ext !== '.csv')) {
    if (!isImageModel(model.inputShape)) {
      throw new PathLensError(
        'input',
        `${path} is an image, but the model expects input shape ${shapeText(model.inputShape)} (not an image [height, width, channels]). Use a .json or .csv input.`,
      );
    }
    if (!preprocessing) throw new PathLensError('input', `${path}: image inputs need a preprocessing (none was given).`);
    const img = decodeImage(bytes, path);
    return [prepareImage(img, path, model.inputShape, preprocessing, options)];
  }
  const text = () => new TextDecoder('utf-8').decode(bytes);
  if (ext === '.json') return parseJsonInputs(text(), path, model.inputShape, options.maxRows, model.tensorLayout);
  if (ext === '.csv') return parseCsvInputs(text(), path, model.inputShape, options.maxRows);
  throw new PathLensError(
    'input',
    `Unsupported input ${path}: expected an image (.png, .jpg, .jpeg), a .json tensor or a .csv file${ext ? ` (got "${ext}")` : ''}.`,
  );
}

/**
 * Load inputs for a model. `paths` may mix files and directories (a directory expands to its
 * image/json/csv files, sorted, non-recursive). Images need a rank-3 [H, W, C] model input and are
 * resized and normalised with `preprocessing`; `.json` tensors and `.csv` rows are used as-is.
 */
export function loadInputsSync(
  paths: string[],
  model: ModelInputInfo,
  preprocessing: Preprocessing | null,
  options: LoadOptions = {},
): PreparedInput[] {
  if (paths.length === 0) throw new PathLensError('input', 'No input given.');
  const read = options.readFile ?? ((file: string) => readInputFile(file));
  const files = options.readFile ? paths : expandInputPaths(paths);
  const out: PreparedInput[] = [];
  for (const file of files) out.push(...prepareFile(file, read(file), model, preprocessing, options));
  return out;
}

/** Async wrapper of `loadInputsSync` (same behaviour). */
export async function loadInputs(
  paths: string[],
  model: ModelInputInfo,
  preprocessing: Preprocessing | null,
  options: LoadOptions = {},
): Promise<PreparedInput[]> {
  return loadInputsSync(paths, model, preprocessing, options);
}
