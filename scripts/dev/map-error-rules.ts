/**
 * Development script: adaptive IG rules simulated on the dense gradient grids of map-error-grid.ts
 * (dyadic nodes α = j/1024 need no model evaluation). Per grid it runs the product's rule itself
 * (integrateAdaptive on a grid-backed Evaluator) and a parameterised replica of it that records every
 * stage; it prints the evaluations at the rule's own stop (estimated map error ≤ 2 % and |δ| ≤ 1 %),
 * the true map error there against the grid's 1025-point trapezoid, estimate/true at the stop, the
 * worst true/estimate over every stage (the honesty rule: ≤ 1.5) and the evaluations at which the truth
 * first fell to ≤ 2 % (what an oracle stop would cost).
 *   npx tsx scripts/dev/map-error-rules.ts [grid-dir=/tmp/tm-grids] [name-filter]
 * Replica variants from the environment (comma lists): FACTORS (JUMP_FACTOR), KINKS (HIDDEN_KINKS),
 * SCORES (own: the product's h·‖x ⊙ Δg‖₁; share: each interval's share of Σ_i √V_i), INITIAL
 * (first-pass intervals), DELTA (signed: the product's δ phase; abs: the largest |gap| of either
 * sign); STAGES=1 prints every stage; ONLY=product runs only the product's rule.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Evaluator, PointSpec } from '../../src/core/engine/evaluator';
import { integrateAdaptive } from '../../src/core/path/adaptive';
import { HIDDEN_KINKS, JUMP_FACTOR } from '../../src/core/path/mapError';
import type { PointChunkResult, StraightPathBuilder } from '../../src/core/engine/pointBatch';

export interface Grid {
  name: string;
  /** Intervals of the dyadic grid (nodes j = 0…N, α = j/N). */
  N: number;
  size: number;
  x: Float32Array;
  grad: Float32Array;
  /** F(x) − F(x'). */
  expected: number;
  values: Float32Array;
}

export function loadGrid(dir: string, file: string): Grid {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const buf = fs.readFileSync(path.join(dir, file.replace(/\.json$/, '.grad.bin')));
  const values = meta.values as number[];
  return {
    name: file.replace(/\.json$/, ''),
    N: meta.n - 1,
    size: meta.size,
    x: Float32Array.from(meta.input as number[]),
    grad: new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4),
    expected: values[values.length - 1]! - values[0]!,
    values: Float32Array.from(values),
  };
}

export const at = (g: Grid, j: number): Float32Array => g.grad.subarray(j * g.size, (j + 1) * g.size);

export function l1(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += Math.abs(v[i]!);
  return s;
}

/** Trapezoid map on sorted node indices: x ⊙ Σ_k h_k (g_k + g_{k+1}) / 2. */
export function trapezoidMap(g: Grid, nodes: readonly number[]): Float64Array {
  const map = new Float64Array(g.size);
  for (let k = 0; k + 1 < nodes.length; k++) {
    const h = (nodes[k + 1]! - nodes[k]!) / g.N;
    const [ga, gb] = [at(g, nodes[k]!), at(g, nodes[k + 1]!)];
    for (let i = 0; i < g.size; i++) map[i]! += (h / 2) * (ga[i]! + gb[i]!);
  }
  for (let i = 0; i < g.size; i++) map[i]! *= g.x[i]!;
  return map;
}

export function relativeDelta(g: Grid, map: Float64Array): number {
  let sum = 0;
  for (const v of map) sum += v;
  return Math.abs(sum - g.expected) / Math.abs(g.expected);
}

/**
 * The product's rule itself (integrateAdaptive) on the grid: an Evaluator stand-in answers each path
 * point from the grid (the path builder carries its alphas).
 */
async function productRule(
  g: Grid,
  truth: (map: Float64Array) => number,
): Promise<{ evaluations: number; truth: number; estimate: number }> {
  const evaluator = {
    memoryBudgetBytes: 8 * 2 ** 30,
    async evaluatePoints(spec: PointSpec, consume: (start: number, r: PointChunkResult) => void) {
      const js = (spec.build as StraightPathBuilder).alphas.map((alpha) => Math.round(alpha * g.N));
      const gradients = new Float32Array(spec.count * g.size);
      js.forEach((j, k) => gradients.set(at(g, j), k * g.size));
      const directional = js.map((j) => at(g, j).reduce((s, v, i) => s + v * g.x[i]!, 0));
      consume(0, {
        value: Float32Array.from(js, (j) => g.values[j]!),
        gradNorm: new Float32Array(spec.count),
        directional: Float32Array.from(directional),
        gradients,
      } as PointChunkResult);
    },
  } as unknown as Evaluator;
  const r = await integrateAdaptive(evaluator, g.x, new Float32Array(g.size), g.expected, {}, 'grid');
  const map = Float64Array.from(r.weightedGradSum, (v, i) => v * g.x[i]!);
  return { evaluations: r.alpha.length, truth: truth(map), estimate: r.mapError };
}

interface Variant {
  label: string;
  initial: number;
  score: 'own' | 'share';
  /** δ phase: the largest |gap| (abs) or the largest gaps of δ's own sign covering its excess (signed). */
  delta: 'abs' | 'signed';
  factor: number;
  hiddenKinks: number;
  roundPoints: number;
}

export interface StageRow {
  evaluations: number;
  truth: number;
  estimate: number;
  delta: number;
}

/** The product's IntervalSums with the variant's variance weight (h²/12 · (1 + kinks·h²)). */
class ReplicaSums {
  map: Float64Array;
  variance: Float64Array;
  constructor(
    private g: Grid,
    private hiddenKinks: number,
  ) {
    this.map = new Float64Array(g.size);
    this.variance = new Float64Array(g.size);
  }
  weight(a: number, b: number): number {
    const h = (b - a) / this.g.N;
    return ((h * h) / 12) * (1 + this.hiddenKinks * h * h);
  }
  apply(a: number, b: number, sign: 1 | -1): number {
    const g = this.g;
    const [ga, gb] = [at(g, a), at(g, b)];
    const h = (b - a) / g.N;
    const q = this.weight(a, b);
    let own = 0;
    for (let i = 0; i < g.size; i++) {
      const x = g.x[i]!;
      const d = x * (gb[i]! - ga[i]!);
      this.map[i]! += sign * x * h * 0.5 * (ga[i]! + gb[i]!);
      this.variance[i]! += sign * q * d * d;
      own += Math.abs(d);
    }
    return h * own;
  }
  /** Each interval's share of Σ_i √V_i (what bisecting it would remove first). */
  share(a: number, b: number): number {
    const g = this.g;
    const [ga, gb] = [at(g, a), at(g, b)];
    const q = this.weight(a, b);
    let share = 0;
    for (let i = 0; i < g.size; i++) {
      const V = this.variance[i]!;
      const d = g.x[i]! * (gb[i]! - ga[i]!);
      if (V > 0) share += (q * d * d) / Math.sqrt(V);
    }
    return share;
  }
}

/** Σ_i √V_i · √(2/π) · factor / ‖A‖₁, never below the map's completeness gap share. */
function replicaEstimate(g: Grid, sums: ReplicaSums, factor: number): { estimate: number; delta: number } {
  let sd = 0;
  for (const v of sums.variance) if (v > 0) sd += Math.sqrt(v);
  const norm = l1(sums.map);
  let sum = 0;
  for (const v of sums.map) sum += v;
  const floor = Math.abs(sum - g.expected) / norm;
  return {
    estimate: Math.max((factor * Math.sqrt(2 / Math.PI) * sd) / norm, floor),
    delta: Math.abs(sum - g.expected) / Math.abs(g.expected),
  };
}

/** Intervals to bisect: the fewest carrying half the score, at least `least`, at most `most` (as the product). */
function chooseIntervals(scores: readonly number[], most: number, least: number): number[] {
  const order = scores.map((_, k) => k).sort((x, y) => scores[y]! - scores[x]!);
  const total = scores.reduce((s, x) => s + x, 0);
  const chosen: number[] = [];
  let covered = 0;
  for (const k of order) {
    if (chosen.length >= most || (covered >= total / 2 && chosen.length >= least)) break;
    chosen.push(k);
    covered += scores[k]!;
  }
  return chosen;
}

/** The product's rule replicated with the variant's constants, recording every stage. */
function replica(g: Grid, v: Variant, truth: (m: Float64Array) => number, directional: (j: number) => number): StageRow[] {
  let nodes = Array.from({ length: v.initial + 1 }, (_, k) => (k * g.N) / v.initial);
  const sums = new ReplicaSums(g, v.hiddenKinks);
  const own = new Map<number, number>(); // keyed by the interval's left node
  for (let k = 0; k + 1 < nodes.length; k++) own.set(nodes[k]!, sums.apply(nodes[k]!, nodes[k + 1]!, 1));
  const rows: StageRow[] = [];
  for (;;) {
    const { estimate, delta } = replicaEstimate(g, sums, v.factor);
    rows.push({ evaluations: nodes.length, truth: truth(sums.map), estimate, delta });
    if (nodes.length >= 512 || (estimate <= 0.02 && delta <= 0.01)) break;
    const least = Math.min(v.roundPoints, Math.ceil(nodes.length * (Math.max(estimate / 0.02, delta / 0.01) - 1)));
    const intervals = nodes
      .slice(0, -1)
      .map((a, k) => ({ a, b: nodes[k + 1]! }))
      .filter((iv) => iv.b - iv.a >= 2);
    const gap = ({ a, b }: { a: number; b: number }) =>
      ((b - a) / g.N) * 0.5 * (directional(a) + directional(b)) - (g.values[b]! - g.values[a]!);
    const scores = intervals.map((iv) =>
      estimate <= 0.02 ? Math.abs(gap(iv)) : v.score === 'own' ? own.get(iv.a)! : sums.share(iv.a, iv.b),
    );
    let chosen = chooseIntervals(scores, v.roundPoints, least);
    if (estimate <= 0.02 && v.delta === 'signed') {
      const gaps = intervals.map(gap);
      const total = gaps.reduce((s, x) => s + x, 0);
      const excess = Math.abs(total) - 0.5 * 0.01 * Math.abs(g.expected);
      const same = gaps
        .map((x, k) => ({ x: x * Math.sign(total), k }))
        .filter((c) => c.x > 0)
        .sort((p, q) => q.x - p.x);
      const picked: number[] = [];
      let covered = 0;
      for (const c of same) {
        if (picked.length >= v.roundPoints || covered >= excess) break;
        picked.push(c.k);
        covered += c.x;
      }
      if (picked.length > 0) chosen = picked;
    }
    if (chosen.length === 0) break;
    for (const k of chosen) {
      const { a, b } = intervals[k]!;
      const m = (a + b) / 2;
      sums.apply(a, b, -1);
      own.set(a, sums.apply(a, m, 1));
      own.set(m, sums.apply(m, b, 1));
      nodes.push(m);
    }
    nodes = nodes.sort((x, y) => x - y);
  }
  return rows;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',');

function variants(): Variant[] {
  const out: Variant[] = [];
  for (const score of list('SCORES', 'own') as Variant['score'][])
    for (const kinks of list('KINKS', String(HIDDEN_KINKS)).map(Number))
      for (const factor of list('FACTORS', String(JUMP_FACTOR)).map(Number))
        for (const initial of list('INITIAL', '8').map(Number))
          for (const delta of list('DELTA', 'signed') as Variant['delta'][])
            out.push({
              label: `${score} ×${factor} kinks ${kinks} first ${initial + 1} δ ${delta}`,
              initial,
              score,
              delta,
              factor,
              hiddenKinks: kinks,
              roundPoints: 4,
            });
  return out;
}

function gridTruth(g: Grid): (map: Float64Array) => number {
  const ref = trapezoidMap(
    g,
    Array.from({ length: g.N + 1 }, (_, j) => j),
  );
  const refNorm = l1(ref);
  return (map) => {
    let d = 0;
    for (let i = 0; i < g.size; i++) d += Math.abs(map[i]! - ref[i]!);
    return d / refNorm;
  };
}

function directionalOf(g: Grid): (j: number) => number {
  const cache = new Map<number, number>();
  return (j) => {
    let d = cache.get(j);
    if (d === undefined) {
      const gr = at(g, j);
      d = 0;
      for (let i = 0; i < g.size; i++) d += g.x[i]! * gr[i]!;
      cache.set(j, d);
    }
    return d;
  };
}

interface Total {
  evaluations: number;
  worst: number;
  maxTruth: number;
  ratios: number[];
}

async function main(): Promise<void> {
  const dir = process.argv[2] ?? '/tmp/tm-grids';
  const filter = process.argv[3] ?? '';
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f.includes(filter))
    .sort();
  const totals = new Map<string, Total>();
  const add = (label: string, evaluations: number, truth: number, estimate: number, worst: number) => {
    const t = totals.get(label) ?? { evaluations: 0, worst: 0, maxTruth: 0, ratios: [] };
    t.evaluations += evaluations;
    t.worst = Math.max(t.worst, worst);
    t.maxTruth = Math.max(t.maxTruth, truth);
    t.ratios.push(estimate / truth);
    totals.set(label, t);
  };
  for (const file of files) {
    const g = loadGrid(dir, file);
    const truth = gridTruth(g);
    const p = await productRule(g, truth);
    console.log(
      `${g.name.padEnd(40)} ${'product (integrateAdaptive)'.padEnd(34)} stop ${String(p.evaluations).padStart(4)} true ${pct(p.truth)} est/true ${(p.estimate / p.truth).toFixed(2)}`,
    );
    add('product (integrateAdaptive)', p.evaluations, p.truth, p.estimate, NaN);
    if (process.env.ONLY === 'product') continue;
    const directional = directionalOf(g);
    for (const v of variants()) {
      const rows = replica(g, v, truth, directional);
      const stop = rows[rows.length - 1]!;
      const worst = Math.max(...rows.map((r) => r.truth / r.estimate));
      if (process.env.STAGES)
        for (const r of rows)
          console.log(
            `  ${r.evaluations} true ${pct(r.truth)} est ${pct(r.estimate)} δ ${pct(r.delta)} true/est ${(r.truth / r.estimate).toFixed(2)}`,
          );
      console.log(
        `${g.name.padEnd(40)} ${v.label.padEnd(34)} stop ${String(stop.evaluations).padStart(4)} true ${pct(stop.truth)} ` +
          `est/true ${(stop.estimate / stop.truth).toFixed(2)} worst true/est ${worst.toFixed(2)} oracle ${rows.find((r) => r.truth <= 0.02)?.evaluations ?? '-'}`,
      );
      add(v.label, stop.evaluations, stop.truth, stop.estimate, worst);
    }
  }
  for (const [label, t] of totals)
    console.log(
      `TOTAL ${label.padEnd(34)} evaluations ${t.evaluations} worst true/est ${t.worst.toFixed(2)} max true ${pct(t.maxTruth)} ` +
        `est/true ${Math.min(...t.ratios).toFixed(2)}–${Math.max(...t.ratios).toFixed(2)}`,
    );
}

if (require.main === module) void main();
