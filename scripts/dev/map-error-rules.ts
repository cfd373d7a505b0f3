/**
 * Development script: candidate adaptive IG rules simulated on the dense gradient grids of
 * map-error-grid.ts (dyadic nodes α = j/1024 need no model evaluation). Per grid and candidate it prints
 * the evaluations at the rule's own stop (estimated map error ≤ 2 % and |δ| ≤ 1 %), the true map error
 * there against the 1025-point trapezoid reference, estimate/true at the stop and the worst over all
 * stages, and the evaluations at which the truth first fell to ≤ 2 % (what an oracle stop would cost).
 *   npx tsx scripts/dev/map-error-rules.ts [grid-dir=/tmp/tm-grids] [name-filter] [chunk=4]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Evaluator, PointSpec } from '../../src/core/engine/evaluator';
import type { PointChunkResult } from '../../src/core/engine/pointBatch';
import { integrateAdaptive, PanelSums, panelsCarryingError, uniformPanels, type Panel } from '../../src/core/path/adaptive';
import { JUMP_FACTOR, jumpEstimate } from '../../src/core/path/mapError';

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

export interface Stage {
  evaluations: number;
  truth: number;
  delta: number;
  estimates: Record<string, number>;
}

export interface Candidate {
  label: string;
  /** The estimate that decides the stop. */
  stopBy: string;
  run(g: Grid, truth: (map: Float64Array) => number, chunk: number, maxEvaluations: number): Stage[];
}

export function relativeDelta(g: Grid, map: Float64Array): number {
  let sum = 0;
  for (const v of map) sum += v;
  return Math.abs(sum - g.expected) / Math.abs(g.expected);
}

export interface Summary {
  stopEvaluations: number;
  stopTruth: number;
  stopRatio: number;
  worstRatio: number;
  oracleEvaluations: number;
}

export function summarise(stages: Stage[], stopBy: string, mapTolerance = 0.02, tolerance = 0.01): Summary {
  const stop = stages.find((s) => s.estimates[stopBy]! <= mapTolerance && s.delta <= tolerance) ?? stages[stages.length - 1]!;
  const oracle = stages.find((s) => s.truth <= mapTolerance);
  return {
    stopEvaluations: stop.evaluations,
    stopTruth: stop.truth,
    stopRatio: stop.estimates[stopBy]! / stop.truth,
    worstRatio: Math.min(...stages.map((s) => s.estimates[stopBy]! / s.truth)),
    oracleEvaluations: oracle?.evaluations ?? NaN,
  };
}

/**
 * The product's rule itself (integrateAdaptive) on the grid: an Evaluator stand-in answers each path
 * point from the grid (baseline 0, so α = point/x at the largest |x|).
 */
async function productRule(g: Grid, truth: (map: Float64Array) => number, chunk: number): Promise<Summary & { rounds: number }> {
  let pivot = 0;
  for (let i = 0; i < g.size; i++) if (Math.abs(g.x[i]!) > Math.abs(g.x[pivot]!)) pivot = i;
  const evaluator = {
    memoryBudgetBytes: 8 * 2 ** 30,
    chunkSize: async () => chunk,
    async evaluatePoints(spec: PointSpec, consume: (start: number, r: PointChunkResult) => void) {
      const points = spec.build(0, spec.count);
      const js = Array.from({ length: spec.count }, (_, k) => Math.round((points[k * g.size + pivot]! / g.x[pivot]!) * g.N));
      const gradients = new Float32Array(spec.count * g.size);
      js.forEach((j, k) => gradients.set(at(g, j), k * g.size));
      const directional = js.map((j) => at(g, j).reduce((s, v, i) => s + v * g.x[i]!, 0));
      const value = Float32Array.from(js, (j) => g.values[j]!);
      consume(0, {
        value,
        gradNorm: new Float32Array(spec.count),
        directional: Float32Array.from(directional),
        gradients,
      } as PointChunkResult);
    },
  } as unknown as Evaluator;
  const r = await integrateAdaptive(evaluator, g.x, new Float32Array(g.size), g.expected, {}, 'grid');
  const map = Float64Array.from(r.weightedGradSum, (v, i) => v * g.x[i]!);
  const t = truth(map);
  return {
    stopEvaluations: r.alpha.length,
    stopTruth: t,
    stopRatio: r.mapError / t,
    worstRatio: Math.min(...r.history.map((h) => h.mapError)) / t,
    oracleEvaluations: NaN,
    rounds: r.rounds,
  };
}

/**
 * Per-pixel variance of the trapezoid map's error if every interval's change of the gradient came
 * from jumps at unknown places in it (a piecewise-linear network's gradient is piecewise constant on
 * the path): V_i = Σ_k (x_i Δg_{k,i} h_k)² / 12, and each interval's share of Σ_i √V_i.
 */
export function jumpVariance(g: Grid, nodes: readonly number[]): { variance: Float64Array; shares: Float64Array } {
  const variance = new Float64Array(g.size);
  const term = (k: number, i: number, ga: Float32Array, gb: Float32Array) => {
    const h = (nodes[k + 1]! - nodes[k]!) / g.N;
    const d = g.x[i]! * (gb[i]! - ga[i]!) * h;
    return (d * d) / 12;
  };
  for (let k = 0; k + 1 < nodes.length; k++) {
    const [ga, gb] = [at(g, nodes[k]!), at(g, nodes[k + 1]!)];
    for (let i = 0; i < g.size; i++) variance[i]! += term(k, i, ga, gb);
  }
  const shares = new Float64Array(nodes.length - 1);
  for (let k = 0; k + 1 < nodes.length; k++) {
    const [ga, gb] = [at(g, nodes[k]!), at(g, nodes[k + 1]!)];
    let s = 0;
    for (let i = 0; i < g.size; i++) if (variance[i]! > 0) s += term(k, i, ga, gb) / Math.sqrt(variance[i]!);
    shares[k] = s;
  }
  return { variance, shares };
}

/** Intervals to bisect: the fewest carrying `share` of the score, at least `least`, at most `most`. */
export function intervalsToSplit(
  nodes: readonly number[],
  scores: ArrayLike<number>,
  share: number,
  least: number,
  most: number,
): number[] {
  const order = Array.from({ length: nodes.length - 1 }, (_, k) => k)
    .filter((k) => nodes[k + 1]! - nodes[k]! >= 2)
    .sort((a, b) => scores[b]! - scores[a]!);
  const total = order.reduce((s, k) => s + scores[k]!, 0);
  const chosen: number[] = [];
  let covered = 0;
  for (const k of order) {
    if (chosen.length >= most || (covered >= share * total && chosen.length >= least)) break;
    chosen.push(k);
    covered += scores[k]!;
  }
  return chosen;
}

const GAUSS_L1 = Math.sqrt(2 / Math.PI);

/**
 * Trapezoid on every evaluated point, bisection where the jump variance is largest. Round size:
 * 'share' splits the fewest intervals carrying `share` of the score; 'predict' adds the points the
 * error ∝ 1/n law predicts are still missing (at least `chunk`, at most doubling).
 */
function trapezoidJumps(initialIntervals: number, rounds: 'share' | 'predict', factor: number, share = 0.5): Candidate {
  return {
    label: `trap ${initialIntervals + 1} ${rounds === 'share' ? `share ${share}` : 'predict'} ×${factor}`,
    stopBy: 'jump',
    run(g, truth, chunk, maxEvaluations) {
      let nodes = Array.from({ length: initialIntervals + 1 }, (_, k) => (k * g.N) / initialIntervals);
      const stages: Stage[] = [];
      for (;;) {
        const map = trapezoidMap(g, nodes);
        const { variance, shares } = jumpVariance(g, nodes);
        let sd = 0;
        for (const v of variance) sd += Math.sqrt(v);
        const estimate = (factor * GAUSS_L1 * sd) / l1(map);
        const delta = relativeDelta(g, map);
        stages.push({ evaluations: nodes.length, truth: truth(map), delta, estimates: { jump: estimate } });
        const remaining = maxEvaluations - nodes.length;
        if (remaining < 1 || (estimate <= 0.02 && delta <= 0.01)) break;
        const wanted = Math.ceil(nodes.length * Math.max(estimate / 0.02, delta / 0.01, 1) - nodes.length);
        const least = Math.min(remaining, rounds === 'share' ? chunk : Math.min(nodes.length - 1, Math.max(chunk, wanted)));
        const split = intervalsToSplit(nodes, shares, rounds === 'share' ? share : 1, least, rounds === 'share' ? remaining : least);
        if (split.length === 0) break;
        const added = split.map((k) => (nodes[k]! + nodes[k + 1]!) / 2);
        nodes = [...nodes, ...added].sort((a, b) => a - b);
      }
      return stages;
    },
  };
}

interface SimpsonOptions {
  initialPanels: number;
  /** Which panels carry the error: L1 of S − T_f recomputed here, or the score PanelSums.apply returns. */
  score: 'difference' | 'own';
  /** Panels split per round at least (when the share rule picks fewer). */
  minPanels: number;
  /** While |δ| > tolerance, also split the panels carrying half of Σ_P |δ_P| (exact per-panel gaps). */
  deltaPanels?: boolean;
  /** Only once the map estimate is within tolerance (else map panels take the whole round). */
  deltaLast?: boolean;
}

/** Per panel: Simpson of the directional integrand minus its exact integral F(γ(b)) − F(γ(a)). */
function panelGaps(g: Grid, panels: readonly Panel[], directional: (alpha: number) => number): number[] {
  const value = (alpha: number) => g.values[Math.round(alpha * g.N)]!;
  return panels.map((p) =>
    Math.abs(((p.b - p.a) / 6) * (directional(p.a) + 4 * directional(p.m) + directional(p.b)) - (value(p.b) - value(p.a))),
  );
}

/** ‖(x − x') ⊙ (S − T_f)_P‖₁ of one panel: the previous rule's split score. */
function differenceScore(g: Grid, p: Panel): number {
  const [ga, gm, gb] = [p.a, p.m, p.b].map((t) => at(g, Math.round(t * g.N))) as [Float32Array, Float32Array, Float32Array];
  let s = 0;
  for (let i = 0; i < g.size; i++) s += Math.abs(g.x[i]! * ((p.b - p.a) / 12) * (2 * gm[i]! - ga[i]! - gb[i]!));
  return s;
}

/**
 * Simpson panels (the product's PanelSums) run past any stop, to 1 % true error or the cap, recording
 * the jump estimate without its factor and the previous estimate 2.5 × ‖Σ_P (S − T_f)_P‖₁ / ‖A‖₁.
 */
function simpsonTrajectory(o: SimpsonOptions): Candidate {
  return {
    label: `simpson ${o.initialPanels} score ${o.score} min ${o.minPanels}${o.deltaPanels ? ' δ panels' : ''}${o.deltaLast ? ' last' : ''}`,
    stopBy: 'jump',
    run(g, truth, chunk, maxEvaluations) {
      let panels = uniformPanels(o.initialPanels);
      const sums = new PanelSums(g.x, (alpha) => at(g, Math.round(alpha * g.N)));
      const score = (p: Panel) => {
        const own = sums.apply(p, 1);
        return o.score === 'own' ? own : differenceScore(g, p);
      };
      const scores = new Map(panels.map((p) => [p, score(p)]));
      const directionalCache = new Map<number, number>();
      const directional = (alpha: number) => {
        let v = directionalCache.get(alpha);
        if (v === undefined) {
          const gr = at(g, Math.round(alpha * g.N));
          v = 0;
          for (let i = 0; i < g.size; i++) v += g.x[i]! * gr[i]!;
          directionalCache.set(alpha, v);
        }
        return v;
      };
      const stages: Stage[] = [];
      for (;;) {
        const evaluations = new Set(panels.flatMap((p) => [p.a, p.m, p.b])).size;
        const map = sums.map;
        const jump = jumpEstimate(map, sums.difference, sums.variance) / JUMP_FACTOR;
        const panel = (2.5 * l1(sums.difference)) / l1(map);
        const st = { evaluations, truth: truth(map), delta: relativeDelta(g, map) };
        // A hard lower bound of the truth: the map's own completeness gap over its L1 norm.
        const floor = (st.delta * Math.abs(g.expected)) / l1(map);
        stages.push({ ...st, estimates: { jump, panel, floor } });
        const remaining = maxEvaluations - evaluations;
        if (remaining < 2 || st.truth < 0.01) break;
        const most = Math.floor(Math.min(remaining, Math.max(2, chunk)) / 2);
        const list = panels.map((p) => scores.get(p)!);
        const mapDone = o.deltaPanels && Math.max(jump * JUMP_FACTOR, floor) <= 0.02;
        const split = new Set(mapDone ? [] : panelsCarryingError(panels, list, most));
        if (o.deltaPanels && st.delta > 0.01 && (mapDone || !o.deltaLast))
          for (const p of panelsCarryingError(panels, panelGaps(g, panels, directional), mapDone ? most : Math.ceil(most / 2)))
            split.add(p);
        if (split.size < o.minPanels)
          for (const k of list.map((_, k) => k).sort((x, y) => list[y]! - list[x]!)) {
            if (split.size >= Math.min(o.minPanels, most)) break;
            split.add(panels[k]!);
          }
        if ([...split].some((p) => (p.b - p.a) * g.N < 4)) break;
        panels = panels.flatMap((p) => {
          if (!split.has(p)) return [p];
          sums.apply(p, -1);
          const children = [
            { a: p.a, m: (p.a + p.m) / 2, b: p.m },
            { a: p.m, m: (p.m + p.b) / 2, b: p.b },
          ];
          for (const c of children) scores.set(c, score(c));
          return children;
        });
      }
      return stages;
    },
  };
}

function reference(g: Grid): Float64Array {
  return trapezoidMap(
    g,
    Array.from({ length: g.N + 1 }, (_, j) => j),
  );
}

const FACTORS = [1, 1.1, 1.15, 1.2];
const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

async function main(): Promise<void> {
  const dir = process.argv[2] ?? '/tmp/tm-grids';
  const filter = process.argv[3] ?? '';
  const chunk = Number(process.argv[4] ?? 4);
  const all = [
    simpsonTrajectory({ initialPanels: 4, score: 'difference', minPanels: 1 }),
    simpsonTrajectory({ initialPanels: 4, score: 'own', minPanels: 1, deltaPanels: true, deltaLast: true }),
    trapezoidJumps(8, 'share', 1.25),
  ];
  const candidates = all.filter((c) => !process.env.ONLY || c.label.includes(process.env.ONLY));
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f.includes(filter))
    .sort();
  for (const file of files) {
    const g = loadGrid(dir, file);
    const ref = reference(g);
    const refNorm = l1(ref);
    const truth = (map: Float64Array) => {
      let d = 0;
      for (let i = 0; i < g.size; i++) d += Math.abs(map[i]! - ref[i]!);
      return d / refNorm;
    };
    if (!process.env.ONLY || process.env.ONLY === 'product') {
      const p = await productRule(g, truth, chunk);
      console.log(
        `${g.name.padEnd(34)} ${'product (integrateAdaptive)'.padEnd(40)} stop ${String(p.stopEvaluations).padStart(4)} true ${pct(p.stopTruth)} ` +
          `est/true ${p.stopRatio.toFixed(2)} rounds ${p.rounds}`,
      );
    }
    for (const c of candidates) {
      const stages = c.run(g, truth, chunk, 512);
      if (process.env.STAGES)
        for (const st of stages)
          console.log(
            `  ${st.evaluations} true ${pct(st.truth)} δ ${pct(st.delta)} est ${pct(st.estimates[c.stopBy]!)} ratio ${(st.estimates[c.stopBy]! / st.truth).toFixed(2)}`,
          );
      if (c.label.startsWith('simpson ')) {
        const previous = summarise(stages, 'panel');
        console.log(
          `${g.name.padEnd(34)} ${`${c.label} previous estimator`.padEnd(40)} stop ${previous.stopEvaluations} true ${pct(previous.stopTruth)}`,
        );
        for (const f of FACTORS) {
          const scaled = stages.map((st) => ({ ...st, estimates: { jump: Math.max(f * st.estimates.jump!, st.estimates.floor!) } }));
          const s = summarise(scaled, 'jump');
          console.log(
            `${g.name.padEnd(34)} ${`${c.label} ×${f}`.padEnd(40)} stop ${String(s.stopEvaluations).padStart(4)} true ${pct(s.stopTruth)} ` +
              `est/true ${s.stopRatio.toFixed(2)} worst ${s.worstRatio.toFixed(2)} oracle ${s.oracleEvaluations}`,
          );
        }
        continue;
      }
      const s = summarise(stages, c.stopBy);
      console.log(
        `${g.name.padEnd(34)} ${c.label.padEnd(30)} stop ${String(s.stopEvaluations).padStart(4)} true ${pct(s.stopTruth)} ` +
          `est/true ${s.stopRatio.toFixed(2)} worst ${s.worstRatio.toFixed(2)} oracle ${s.oracleEvaluations}`,
      );
    }
  }
}

if (require.main === module) void main();
