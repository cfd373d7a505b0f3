/**
 * Small seeded pseudo-random generator (mulberry32) for baselines, noise and sampling.
 *
 * Deterministic per seed on every platform (pure 32-bit integer arithmetic), fast, and good enough
 * for attribution noise; it is NOT cryptographically secure. Seeds are any finite number (or string):
 * they are hashed into a 32-bit state, so nearby seeds (0, 1, 2, …) give unrelated streams.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number;
  /** Standard normal N(0, 1) via Box–Muller (pairs are cached, so two draws cost one transform). */
  normal(): number;
  /** Uniform integer in [0, n); n must be a positive integer. */
  int(n: number): number;
  /** The seed this generator was created with. */
  readonly seed: number | string;
}

/** Hash an arbitrary seed into a 32-bit unsigned state (murmur3-style finaliser). */
function hashSeed(seed: number | string): number {
  let h = 0x9e3779b9;
  const text = typeof seed === 'string' ? seed : Number.isInteger(seed) ? `${seed}` : `f${seed}`;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x85ebca6b);
    h = (h << 13) | (h >>> 19);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function createRng(seed: number | string = 0): Rng {
  if (typeof seed === 'number' && !Number.isFinite(seed)) {
    throw new RangeError(`Random seed must be a finite number, got ${seed}`);
  }
  let state = hashSeed(seed);
  let spare: number | null = null;

  const next32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const uniform = (): number => next32() / 4294967296;

  return {
    seed,
    uniform,
    range(lo: number, hi: number): number {
      return lo + (hi - lo) * uniform();
    },
    normal(): number {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      // u1 in (0, 1] so log(u1) is finite.
      const u1 = 1 - uniform();
      const u2 = uniform();
      const r = Math.sqrt(-2 * Math.log(u1));
      const theta = 2 * Math.PI * u2;
      spare = r * Math.sin(theta);
      return r * Math.cos(theta);
    },
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError(`int(n) needs a positive integer, got ${n}`);
      if (n <= 1) return 0;
      // Rejection sampling avoids modulo bias.
      const limit = Math.floor(4294967296 / n) * n;
      let v = next32();
      while (v >= limit) v = next32();
      return v % n;
    },
  };
}
