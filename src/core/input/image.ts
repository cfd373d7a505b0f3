/**
 * Image decoding (PNG via pngjs, JPEG via jpeg-js) and bilinear resizing on plain typed arrays.
 */
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { PathLensError } from '../errors';
import { formatBytes, MAX_IMAGE_PIXELS, MB } from '../safety';

/** An 8-bit RGBA image, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

export type ImageFormat = 'png' | 'jpeg';

/** Detect PNG / JPEG from magic bytes (the file extension is not trusted). */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (
    bytes.length >= 8 &&
    bytes[0] === 0x89 &&
    bytes[1] === 0x50 &&
    bytes[2] === 0x4e &&
    bytes[3] === 0x47 &&
    bytes[4] === 0x0d &&
    bytes[5] === 0x0a &&
    bytes[6] === 0x1a &&
    bytes[7] === 0x0a
  ) {
    return 'png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/**
 * Width and height an image header declares, read without decoding: PNG's IHDR, JPEG's first SOFn
 * marker. Null when the header is missing or cut short.
 */
export function imageHeaderSize(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'png') {
    // Signature (8), IHDR length (4) and type (4), then width and height as big-endian uint32.
    if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    const length = view.getUint16(at + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
    }
    at += 2 + length;
  }
  return null;
}

/** Refuses empty and oversized (decompression bomb) headers before any pixel buffer is allocated. */
function checkImageHeader(bytes: Uint8Array, format: ImageFormat, path: string): void {
  const size = imageHeaderSize(bytes, format);
  if (!size)
    throw new PathLensError(
      'input',
      `Cannot read image ${path}: corrupt ${format.toUpperCase()} data (the header is missing or cut short).`,
    );
  if (size.width === 0 || size.height === 0) {
    throw new PathLensError('input', `Cannot read image ${path}: its header declares ${size.width}×${size.height} pixels (no pixels).`);
  }
  if (size.width * size.height > MAX_IMAGE_PIXELS) {
    throw new PathLensError(
      'limit',
      `Image ${path} declares ${size.width}×${size.height} pixels (${formatBytes(size.width * size.height * 4)} decoded), more than the ${MAX_IMAGE_PIXELS / (1024 * 1024)} megapixels PathLens decodes; refused before decoding.`,
    );
  }
}

/**
 * Decode PNG or JPEG bytes into RGBA. `path` is only used in error messages.
 * Throws `PathLensError('input', …)` naming the file for empty, corrupt or unsupported data.
 */
export function decodeImage(bytes: Uint8Array, path: string): RgbaImage {
  if (bytes.length === 0) throw new PathLensError('input', `Cannot read image ${path}: the file is empty.`);
  const format = sniffImageFormat(bytes);
  if (format === null) {
    throw new PathLensError(
      'input',
      `Cannot read image ${path}: not a PNG or JPEG file (unrecognised file signature). Supported image formats: PNG, JPEG.`,
    );
  }
  checkImageHeader(bytes, format, path);
  try {
    if (format === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return {
        width: png.width,
        height: png.height,
        rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.width * png.height * 4),
      };
    }
    const img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
      maxMemoryUsageInMB: (MAX_IMAGE_PIXELS * 8) / MB,
    });
    if (!(img.width > 0 && img.height > 0)) throw new Error('image has no pixels');
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new PathLensError('input', `Cannot read image ${path}: corrupt or unsupported ${format.toUpperCase()} data (${why}).`);
  }
}

/**
 * Bilinear resize of an interleaved image with `channels` channels (any numeric typed array in, Float32Array out,
 * values not rounded).
 *
 * Uses half-pixel centres, exactly like TF's `tf.image.resizeBilinear(x, size, alignCorners=false,
 * halfPixelCenters=true)`: output pixel `d` samples source coordinate `s = (d + 0.5)·in/out − 0.5`,
 * clamped to [0, in−1], and interpolates between `floor(s)` and `floor(s)+1`. This is the convention
 * used by Keras/TF2 `tf.image.resize(method='bilinear')`, so model inputs match what TF pipelines see.
 * No antialiasing: large downscales sample (like TF), they do not average.
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  inW: number,
  inH: number,
  channels: number,
  outW: number,
  outH: number,
): Float32Array {
  if (!(inW > 0 && inH > 0 && outW > 0 && outH > 0)) {
    throw new RangeError(`resizeBilinear: sizes must be positive (in ${inW}x${inH}, out ${outW}x${outH})`);
  }
  const out = new Float32Array(outW * outH * channels);
  const axis = (outN: number, inN: number) => {
    const lo = new Int32Array(outN),
      hi = new Int32Array(outN),
      frac = new Float32Array(outN);
    const scale = inN / outN;
    for (let d = 0; d < outN; d++) {
      let s = (d + 0.5) * scale - 0.5;
      if (s < 0) s = 0;
      if (s > inN - 1) s = inN - 1;
      const f = Math.floor(s);
      lo[d] = f;
      hi[d] = Math.min(f + 1, inN - 1);
      frac[d] = s - f;
    }
    return { lo, hi, frac };
  };
  const ax = axis(outW, inW),
    ay = axis(outH, inH);
  for (let y = 0; y < outH; y++) {
    const r0 = ay.lo[y] * inW,
      r1 = ay.hi[y] * inW,
      fy = ay.frac[y];
    for (let x = 0; x < outW; x++) {
      const c0 = ax.lo[x],
        c1 = ax.hi[x],
        fx = ax.frac[x];
      const i00 = (r0 + c0) * channels,
        i01 = (r0 + c1) * channels;
      const i10 = (r1 + c0) * channels,
        i11 = (r1 + c1) * channels;
      const o = (y * outW + x) * channels;
      for (let c = 0; c < channels; c++) {
        const top = src[i00 + c] + (src[i01 + c] - src[i00 + c]) * fx;
        const bottom = src[i10 + c] + (src[i11 + c] - src[i10 + c]) * fx;
        out[o + c] = top + (bottom - top) * fy;
      }
    }
  }
  return out;
}

/** Crop the central square (side = min(width, height)) of an RGBA image, like Teachable Machine does. */
export function centerCropSquare(img: RgbaImage): RgbaImage {
  const side = Math.min(img.width, img.height);
  if (side === img.width && side === img.height) return img;
  const x0 = Math.floor((img.width - side) / 2),
    y0 = Math.floor((img.height - side) / 2);
  const rgba = new Uint8Array(side * side * 4);
  for (let y = 0; y < side; y++) {
    const from = ((y + y0) * img.width + x0) * 4;
    rgba.set(img.rgba.subarray(from, from + side * 4), y * side * 4);
  }
  return { width: side, height: side, rgba };
}
