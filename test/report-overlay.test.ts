import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { colormapLut, colormapRgb, parseColor } from '../src/shared/colormap';
import { aggregateChannels, encodePng, normalizeForDisplay, renderBarChart, renderOverlay } from '../src/core/report/overlay';

const px = (img: { width: number; rgba: Uint8Array }, x: number, y: number) =>
  Array.from(img.rgba.slice((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));

describe('colormaps', () => {
  it('parses d3 colours and builds 256-entry LUTs', () => {
    expect(parseColor('#fcffa4')).toEqual([252, 255, 164]);
    expect(parseColor('rgb(103, 0, 31)')).toEqual([103, 0, 31]);
    expect(colormapLut('inferno').length).toBe(768);
    expect(colormapRgb('inferno', 1)).toEqual([252, 255, 164]);
    expect(colormapRgb('inferno', 0)).toEqual([0, 0, 4]);
    // rdbu reversed: negative blue, positive red
    const [r0, , b0] = colormapRgb('rdbu', 0);
    const [r1, , b1] = colormapRgb('rdbu', 1);
    expect(b0).toBeGreaterThan(r0);
    expect(r1).toBeGreaterThan(b1);
  });
});

describe('renderOverlay', () => {
  const shape = [4, 4, 3];
  const data = new Float32Array(48);
  data[(1 * 4 + 2) * 3] = 5;
  data[(1 * 4 + 2) * 3 + 1] = 1;
  data[(3 * 4 + 0) * 3 + 2] = -2;

  it('gives the highest attribution pixel the colormap top colour (opacity 1)', () => {
    const display = { width: 4, height: 4, rgba: new Uint8Array(64).fill(128) };
    const img = renderOverlay({ shape, data }, display, { colormap: 'inferno', opacity: 1, sign: 'absolute' });
    expect(px(img, 2, 1)).toEqual([...colormapRgb('inferno', 1), 255]);
    expect(px(img, 0, 0)).toEqual([...colormapRgb('inferno', 0), 255]);
    const v = renderOverlay({ shape, data }, display, { colormap: 'viridis', opacity: 1, sign: 'positive' });
    expect(px(v, 2, 1)).toEqual([...colormapRgb('viridis', 1), 255]);
    // negative pixel is 0 under 'positive'
    expect(px(v, 0, 3)).toEqual([...colormapRgb('viridis', 0), 255]);
  });

  it('blends with opacity over the display image', () => {
    const display = { width: 4, height: 4, rgba: new Uint8Array(64).fill(200) };
    const img = renderOverlay({ shape, data }, display, { colormap: 'inferno', opacity: 0.6 });
    const top = colormapRgb('inferno', 1);
    expect(px(img, 2, 1).slice(0, 3)).toEqual(top.map((c) => Math.round(0.4 * 200 + 0.6 * c)));
  });

  it('signed mode uses the diverging map ends for the extreme values', () => {
    const d = Float32Array.of(2, 0, -2, 0);
    const img = renderOverlay({ shape: [2, 2], data: d }, null, { sign: 'signed', clipPercentile: 100 });
    expect(px(img, 0, 0).slice(0, 3)).toEqual(colormapRgb('rdbu', 1));
    expect(px(img, 0, 1).slice(0, 3)).toEqual(colormapRgb('rdbu', 0));
    expect(px(img, 1, 0).slice(0, 3)).toEqual(colormapRgb('rdbu', 0.5));
  });

  it('maps a smaller attribution to the display size by nearest', () => {
    const display = { width: 8, height: 8, rgba: new Uint8Array(256) };
    const img = renderOverlay({ shape, data }, display, { opacity: 1 });
    expect([img.width, img.height]).toEqual([8, 8]);
    const top = [...colormapRgb('inferno', 1), 255];
    for (const [x, y] of [
      [4, 2],
      [5, 2],
      [4, 3],
      [5, 3],
    ])
      expect(px(img, x, y)).toEqual(top);
    expect(px(img, 6, 2)).not.toEqual(top);
  });

  it('aggregates channels by sum, max-abs and l2; percentile clipping saturates', () => {
    const d = Float32Array.of(1, -3, 2, 0.5, 0.5, 0);
    expect(Array.from(aggregateChannels({ shape: [1, 2, 3], data: d }, 'sum').values)).toEqual([0, 1]);
    expect(Array.from(aggregateChannels({ shape: [1, 2, 3], data: d }, 'max-abs').values)).toEqual([-3, 0.5]);
    expect(aggregateChannels({ shape: [1, 2, 3], data: d }, 'l2').values[0]).toBeCloseTo(Math.sqrt(14));
    const vals = Float32Array.from({ length: 1000 }, (_, i) => i + 1);
    vals[999] = 1e6; // one outlier does not wash out the map
    const { t, scale } = normalizeForDisplay(vals, 'absolute', 99);
    expect(scale).toBeCloseTo(990.01, 1);
    expect(t[999]).toBe(1);
    expect(t[995]).toBe(1); // above the 99th percentile
    expect(t[499]).toBeCloseTo(500 / 990.01, 4);
  });

  it('handles all-zero and non-finite attributions', () => {
    const img = renderOverlay({ shape: [2, 2], data: Float32Array.of(0, NaN, Infinity, 0) }, null, { opacity: 1 });
    expect(px(img, 0, 0).slice(0, 3)).toEqual(colormapRgb('inferno', 0));
  });

  it('encodes a decodable PNG', () => {
    const img = renderOverlay({ shape, data }, null);
    const png = PNG.sync.read(Buffer.from(encodePng(img)));
    expect([png.width, png.height]).toEqual([4, 4]);
    expect(Array.from(png.data.slice(0, 4))).toEqual(px(img, 0, 0));
  });
});

describe('renderBarChart', () => {
  it('draws signed bars sorted by |value| with escaped names', () => {
    const svg = renderBarChart(Float32Array.of(0.5, -2, 1), ['a', '<b&c>', 'd']);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('&lt;b&amp;c&gt;');
    expect(svg).not.toContain('<b&c>');
    expect(svg.indexOf('&lt;b&amp;c&gt;')).toBeLessThan(svg.indexOf('>d<'));
    expect((svg.match(/<rect/g) ?? []).length).toBe(3);
    expect(svg).not.toContain('http');
    expect(renderBarChart([1, 2], undefined, { standalone: true })).toContain('xmlns=');
  });
  it('limits the number of bars', () => {
    const svg = renderBarChart(
      Float32Array.from({ length: 54 }, (_, i) => i),
      undefined,
      { maxBars: 10 },
    );
    expect((svg.match(/<rect/g) ?? []).length).toBe(10);
    expect(svg).toContain('44 more features');
  });
});
