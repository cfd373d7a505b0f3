/**
 * Colormaps as 256-entry RGB lookup tables. DOM-free (shared with the webview); the only dependency
 * is d3-scale-chromatic, sampled once per map and cached.
 */
import {
  interpolateCividis,
  interpolateInferno,
  interpolateMagma,
  interpolatePlasma,
  interpolateRdBu,
  interpolatePiYG,
  interpolateViridis,
} from 'd3-scale-chromatic';

/** Sequential maps for magnitudes; `rdbu` / `piyg` are diverging maps for signed values. */
export const COLORMAPS = ['inferno', 'viridis', 'magma', 'plasma', 'cividis', 'rdbu', 'piyg'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

/** Maps that are meant for signed data (centre = zero). */
export const DIVERGING_COLORMAPS: readonly ColormapName[] = ['rdbu', 'piyg'];

const INTERPOLATORS: Record<ColormapName, (t: number) => string> = {
  inferno: interpolateInferno,
  viridis: interpolateViridis,
  magma: interpolateMagma,
  plasma: interpolatePlasma,
  cividis: interpolateCividis,
  // Reversed so that t = 0 (most negative) is blue and t = 1 (most positive) is red.
  rdbu: (t) => interpolateRdBu(1 - t),
  // Negative magenta, positive green (as d3 defines it).
  piyg: interpolatePiYG,
};

/** Parse `#rrggbb`, `#rgb` or `rgb(r, g, b)` into bytes. */
export function parseColor(css: string): [number, number, number] {
  const s = css.trim();
  let m = /^#([0-9a-f]{6})$/i.exec(s);
  if (m) {
    const v = parseInt(m[1], 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }
  m = /^#([0-9a-f]{3})$/i.exec(s);
  if (m) return [0, 1, 2].map((i) => parseInt(m![1][i] + m![1][i], 16)) as [number, number, number];
  m = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)/i.exec(s);
  if (m) return [1, 2, 3].map((i) => Math.max(0, Math.min(255, Math.round(Number(m![i]))))) as [number, number, number];
  throw new Error(`Cannot parse colour "${css}"`);
}

const cache = new Map<ColormapName, Uint8Array>();

export function isColormapName(name: string): name is ColormapName {
  return (COLORMAPS as readonly string[]).includes(name);
}

/** 256×3 RGB bytes; entry i is the colour at t = i/255. */
export function colormapLut(name: ColormapName): Uint8Array {
  let lut = cache.get(name);
  if (!lut) {
    const interp = INTERPOLATORS[name];
    if (!interp) throw new Error(`Unknown colormap "${name}" (use one of ${COLORMAPS.join(', ')})`);
    lut = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++) lut.set(parseColor(interp(i / 255)), i * 3);
    cache.set(name, lut);
  }
  return lut;
}

/** RGB of `t` in [0, 1] (clamped; NaN → 0). */
export function colormapRgb(name: ColormapName, t: number): [number, number, number] {
  const lut = colormapLut(name);
  const i = Number.isNaN(t) ? 0 : Math.max(0, Math.min(255, Math.round(t * 255)));
  return [lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]];
}

/** `#rrggbb` of `t` in [0, 1]. */
export function colormapHex(name: ColormapName, t: number): string {
  return (
    '#' +
    colormapRgb(name, t)
      .map((v) => v.toString(16).padStart(2, '0'))
      .join('')
  );
}

/** Default map for a sign mode: diverging for signed, inferno otherwise. */
export function defaultColormap(sign: 'positive' | 'negative' | 'absolute' | 'signed'): ColormapName {
  return sign === 'signed' ? 'rdbu' : 'inferno';
}
