// Draws media/icon.png (128×128): a lens over an inferno-coloured saliency blob. Run once; the PNG is committed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = 128;
const png = new PNG({ width: N, height: N });
// A few inferno stops (t = 0..1).
const inferno = [
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
];
const cmap = (t) => {
  const x = Math.max(0, Math.min(1, t)) * (inferno.length - 1);
  const i = Math.min(inferno.length - 2, Math.floor(x));
  const f = x - i;
  return inferno[i].map((c, k) => Math.round(c + (inferno[i + 1][k] - c) * f));
};
const cx = 56,
  cy = 56,
  r = 38,
  ring = 9;
for (let y = 0; y < N; y++) {
  for (let x = 0; x < N; x++) {
    const o = (y * N + x) * 4;
    const d = Math.hypot(x - cx, y - cy);
    // handle: a thick line from the ring towards the bottom right
    const t = (x - cx + (y - cy)) / 2;
    const perp = Math.abs(x - cx - (y - cy)) / Math.SQRT2;
    const onHandle = t > (r + ring / 2) / Math.SQRT2 && t < 62 && perp < 8;
    let rgba = [0, 0, 0, 0];
    if (d < r) {
      const heat =
        Math.exp(-((x - cx + 8) ** 2 + (y - cy - 6) ** 2) / 300) + 0.7 * Math.exp(-((x - cx - 12) ** 2 + (y - cy + 12) ** 2) / 160);
      rgba = [...cmap(0.15 + 0.8 * heat), 255];
    } else if (d < r + ring || onHandle) {
      rgba = [220, 225, 235, 255];
    }
    // soft edge
    if (rgba[3] && d >= r + ring - 1 && d < r + ring && !onHandle) rgba[3] = Math.round(255 * (r + ring - d));
    png.data.set(rgba, o);
  }
}
fs.mkdirSync(path.join(root, 'media'), { recursive: true });
fs.writeFileSync(path.join(root, 'media', 'icon.png'), PNG.sync.write(png));
console.log('wrote media/icon.png');
