/**
 * Attribution heatmaps over the input image (RGBA bytes → PNG) and bar charts for non-image inputs.
 * The pure rendering lives in render.ts (shared with the webview bundle); this adds PNG encoding.
 */
import { PNG } from 'pngjs';
import type { RgbaImageData } from '../../shared/render';

export * from '../../shared/render';

/** Encode RGBA bytes as a PNG file. */
export function encodePng(img: RgbaImageData): Uint8Array {
  if (img.rgba.length !== img.width * img.height * 4) throw new Error(`encodePng: ${img.rgba.length} bytes for ${img.width}x${img.height}`);
  const png = new PNG({ width: img.width, height: img.height });
  png.data.set(img.rgba);
  return new Uint8Array(PNG.sync.write(png));
}
