/**
 * Writes the signal + distractor stress test of Kindermans et al. (2018) / Schwarzenberg & Castle
 * (2020) as real TF.js files (ALGORITHMS.md §6):
 *
 *   npx tsx examples/stress-test/generate.ts [out dir]     (default: this folder)
 *
 * Data: z = −2, −1.99, …, 1.99 (400 points), x = z·(1, 0) + ε·(1, 1), ε ~ N(0, 0.3²) drawn exactly as
 * the reference notebook does (`np.random.seed(42); np.random.normal(0, 0.3, 400)`: MT19937 seeded
 * with init_genrand(42) and NumPy's legacy polar Box–Muller, reproduced bit for bit below).
 * Model: f(x) = 1 − ReLU(1 − wᵀx), w = (1, −1), as Dense(−w, bias 1, relu) → Dense(−1, bias 1).
 * wᵀx = z: the model reads the signal and cancels the distractor exactly.
 *
 * Files: model.json + weights.bin, data.csv (x1, x2 and the target z), inputs/*.json (a few points).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** MT19937 with NumPy's legacy `RandomState` seeding (init_genrand) and `legacy_gauss`. */
export class NumpyRandomState {
  private readonly mt = new Uint32Array(624);
  private index = 624;
  private spare: number | null = null;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1]! ^ (this.mt[i - 1]! >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0; // 1812433253 · prev + i (mod 2³²)
    }
  }

  private nextUint32(): number {
    if (this.index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (this.mt[k]! & 0x80000000) | (this.mt[(k + 1) % 624]! & 0x7fffffff);
        this.mt[k] = this.mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Uniform [0, 1) with 53 bits, as NumPy's `random_sample`. */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** NumPy's legacy Gaussian: polar method, the second value of each pair cached. */
  gauss(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.randomSample() - 1;
      x2 = 2 * this.randomSample() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.spare = f * x1;
    return f * x2;
  }

  normal(loc: number, scale: number, count: number): number[] {
    return Array.from({ length: count }, () => loc + scale * this.gauss());
  }
}

export const STRESS_W = [1, -1] as const;
export const STRESS_SEED = 42;

/** The 400 points of the stress test: z, ε and x = (z + ε, ε). */
export function stressData(seed = STRESS_SEED): { z: number[]; eps: number[]; x: [number, number][] } {
  // np.arange(-2, 2, 0.01) fills start + i·δ with δ = (start + step) − start, in float64.
  const delta = -2 + 0.01 - -2;
  const z = Array.from({ length: 400 }, (_, i) => -2 + i * delta);
  const eps = new NumpyRandomState(seed).normal(0, 0.3, z.length);
  return { z, eps, x: z.map((zi, i) => [zi + eps[i]!, eps[i]!]) };
}

/** Points a user may want to explain: signal-only regime, the example of ALGORITHMS.md, the plateau. */
export const STRESS_INPUTS: Record<string, [number, number]> = {
  'a-linear-0.6-0.2': [0.6, 0.2],
  'b-linear-negative': [-1.2, 0.3],
  'c-plateau-2.5-0.5': [2.5, 0.5],
  'd-plateau-distractor': [1.8, -0.4],
};

/** Writes model.json, weights.bin, data.csv and inputs/*.json into `dir`; returns model.json's path. */
export function writeStressTest(dir: string, seed = STRESS_SEED): string {
  fs.mkdirSync(path.join(dir, 'inputs'), { recursive: true });
  const layers = [
    { class_name: 'Dense', config: { name: 'hidden', units: 1, activation: 'relu', use_bias: true, batch_input_shape: [null, 2] } },
    { class_name: 'Dense', config: { name: 'out', units: 1, activation: 'linear', use_bias: true } },
  ];
  const weights = [
    { name: 'hidden/kernel', shape: [2, 1], values: [-STRESS_W[0], -STRESS_W[1]] },
    { name: 'hidden/bias', shape: [1], values: [1] },
    { name: 'out/kernel', shape: [1, 1], values: [-1] },
    { name: 'out/bias', shape: [1], values: [1] },
  ];
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(new Float32Array(weights.flatMap((w) => w.values)).buffer));
  const model = {
    format: 'layers-model',
    generatedBy: 'pathlens examples/stress-test/generate.ts',
    convertedBy: null,
    modelTopology: { class_name: 'Sequential', config: { name: 'stress_test', layers } },
    weightsManifest: [{ paths: ['weights.bin'], weights: weights.map(({ name, shape }) => ({ name, shape, dtype: 'float32' })) }],
  };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(model, null, 2) + '\n');
  const { z, x } = stressData(seed);
  const rows = x.map(([a, b], i) => `${a},${b},${z[i]}`);
  fs.writeFileSync(path.join(dir, 'data.csv'), ['x1,x2,target', ...rows].join('\n') + '\n');
  for (const [name, point] of Object.entries(STRESS_INPUTS))
    fs.writeFileSync(path.join(dir, 'inputs', `${name}.json`), JSON.stringify(point) + '\n');
  return path.join(dir, 'model.json');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(__filename)) {
  const out = path.resolve(process.argv[2] ?? path.dirname(__filename));
  const file = writeStressTest(out);
  process.stdout.write(`wrote ${file}, weights.bin, data.csv and inputs/ in ${out}\n`);
}
