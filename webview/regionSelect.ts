/**
 * Drag a rectangle on a map canvas to select a region of the input (for the Neurons view): the
 * rectangle is drawn over the canvas while dragging; on release it is reported in map pixels
 * (x = column, y = row, end exclusive), the model input's own coordinates.
 */
import type { Region } from '../src/shared/neurons';
import { h } from './dom';

export function enableRegionSelection(
  canvas: HTMLCanvasElement,
  mapSize: () => { width: number; height: number } | null,
  onRegion: (region: Region) => void,
): void {
  const box = h('div', { class: 'region-box', 'aria-hidden': 'true' });
  box.hidden = true;
  let start: { x: number; y: number } | null = null;
  const toMap = (e: PointerEvent) => {
    const rect = canvas.getBoundingClientRect();
    return { x: (e.clientX - rect.left) / rect.width, y: (e.clientY - rect.top) / rect.height };
  };
  const place = (a: { x: number; y: number }, b: { x: number; y: number }) => {
    const parent = canvas.parentElement!;
    if (box.parentElement !== parent) parent.append(box);
    const rect = canvas.getBoundingClientRect();
    const offset = parent.getBoundingClientRect();
    Object.assign(box.style, {
      left: `${rect.left - offset.left + Math.min(a.x, b.x) * rect.width}px`,
      top: `${rect.top - offset.top + Math.min(a.y, b.y) * rect.height}px`,
      width: `${Math.abs(b.x - a.x) * rect.width}px`,
      height: `${Math.abs(b.y - a.y) * rect.height}px`,
    });
    box.hidden = false;
  };
  canvas.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || !mapSize()) return;
    start = toMap(e);
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (start) place(start, toMap(e));
  });
  canvas.addEventListener('pointerup', (e) => {
    const size = mapSize();
    const from = start;
    start = null;
    if (!from || !size) return;
    const to = toMap(e);
    const clamp = (v: number, n: number) => Math.max(0, Math.min(n, v));
    const region = {
      x0: clamp(Math.floor(Math.min(from.x, to.x) * size.width), size.width - 1),
      y0: clamp(Math.floor(Math.min(from.y, to.y) * size.height), size.height - 1),
      x1: clamp(Math.ceil(Math.max(from.x, to.x) * size.width), size.width),
      y1: clamp(Math.ceil(Math.max(from.y, to.y) * size.height), size.height),
    };
    // A click without a drag is a click, not a region.
    if (region.x1 - region.x0 < 2 && region.y1 - region.y0 < 2) {
      box.hidden = true;
      return;
    }
    onRegion(region);
  });
}
