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
import { panelMaps, panelsCarryingError, panelsToSplit, uniformPanels, type Panel } from '../../src/core/path/adaptive';
import { panelEstimate } from '../../src/core/path/mapError';

export interface Grid {
  name: string;
  /** Intervals of the dyadic grid (nodes j = 0…N, α = j/N). */
  N: number;
  size: number;
  x: Float32Array;
  grad: Float32Array;
  /** F(x) − F(x'). */
  expected: number;
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

/** The shipped rule (adaptive.ts) on the grid: Simpson panels, the half-error share, 2.5× panel sum. */
function shippedSimpson(initialPanels: number): Candidate {
  return {
    label: `simpson panels ${initialPanels} (shipped)`,
    stopBy: 'panel',
    run(g, truth, chunk, maxEvaluations) {
      let panels = uniformPanels(initialPanels);
      const evaluated = new Set<number>();
      const gradient = (alpha: number) => {
        evaluated.add(alpha);
        return at(g, Math.round(alpha * g.N));
      };
      const direction = g.x;
      const stages: Stage[] = [];
      for (;;) {
        const { map, difference, scores } = panelMaps(panels, gradient, direction);
        stages.push({
          evaluations: evaluated.size,
          truth: truth(map),
          delta: relativeDelta(g, map),
          estimates: { panel: panelEstimate(map, difference) },
        });
        const remaining = maxEvaluations - evaluated.size;
        const last = stages[stages.length - 1]!;
        if (remaining < 2 || (last.estimates.panel! <= 0.02 && last.delta <= 0.01 && (last.truth <= 0.02 || process.env.STAGES))) break;
        const split = new Set(panelsCarryingError(panels, scores, Math.floor(Math.min(remaining, Math.max(2, chunk)) / 2)));
        if (split.size === 0 || [...split].some((p) => (p.b - p.a) * g.N < 4)) break;
        panels = panels.flatMap((p) =>
          split.has(p)
            ? [
                { a: p.a, m: (p.a + p.m) / 2, b: p.m },
                { a: p.m, m: (p.m + p.b) / 2, b: p.b },
              ]
            : [p],
        );
      }
      return stages;
    },
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

/**
 * Simpson panels with the jump model: S − T_f per panel is the known part of Simpson's error and the
 * sub-intervals' jump variance the unknown part, so per pixel E|μ + σZ| ≈ √(μ² + (2/π)σ²). With
 * `deltaSplit`, a round whose |δ| is over the tolerance also splits the panels where the directional
 * integrand bends most (the completeness gap is a scalar, systematic error).
 */
function simpsonJumps(factor: number, deltaSplit: boolean, estimator: 'panel' | 'jump'): Candidate {
  return {
    label: `simpson ${estimator}${estimator === 'jump' ? ` ×${factor}` : ''}${deltaSplit ? ' +δ split' : ''}`,
    stopBy: 'est',
    run(g, truth, chunk, maxEvaluations) {
      let panels = uniformPanels(4);
      const evaluated = new Set<number>();
      const gradient = (alpha: number) => {
        evaluated.add(alpha);
        return at(g, Math.round(alpha * g.N));
      };
      const directional = (alpha: number) => {
        const gr = gradient(alpha);
        let s = 0;
        for (let i = 0; i < g.size; i++) s += g.x[i]! * gr[i]!;
        return s;
      };
      const stages: Stage[] = [];
      for (;;) {
        const { map, difference, scores } = panelMaps(panels, gradient, g.x);
        const est = estimator === 'panel' ? panelEstimate(map, difference) : factor * jumpEstimate(g, panels, map, difference);
        const delta = relativeDelta(g, map);
        stages.push({ evaluations: evaluated.size, truth: truth(map), delta, estimates: { est } });
        const remaining = maxEvaluations - evaluated.size;
        if (remaining < 2 || (est <= 0.02 && delta <= 0.01)) break;
        const most = Math.floor(Math.min(remaining, Math.max(2, chunk)) / 2);
        const split = new Set(est > 0.02 ? panelsCarryingError(panels, scores, most) : []);
        if (deltaSplit && delta > 0.01) {
          const d = new Map(panels.flatMap((p) => [p.a, p.m, p.b]).map((a) => [a, directional(a)]));
          for (const p of panelsToSplit(panels, d, most)) split.add(p);
        }
        if (split.size === 0 || [...split].some((p) => (p.b - p.a) * g.N < 4)) break;
        panels = panels.flatMap((p) =>
          split.has(p)
            ? [
                { a: p.a, m: (p.a + p.m) / 2, b: p.m },
                { a: p.m, m: (p.m + p.b) / 2, b: p.b },
              ]
            : [p],
        );
      }
      return stages;
    },
  };
}

function jumpEstimate(g: Grid, panels: readonly Panel[], map: Float64Array, difference: Float64Array): number {
  const variance = new Float64Array(g.size);
  for (const { a, m, b } of panels) {
    const [ga, gm, gb] = [a, m, b].map((t) => at(g, Math.round(t * g.N)));
    const q = ((b - a) / 2) ** 2 / 12;
    for (let i = 0; i < g.size; i++) {
      const x2 = g.x[i]! * g.x[i]!;
      variance[i]! += x2 * q * ((gm![i]! - ga![i]!) ** 2 + (gb![i]! - gm![i]!) ** 2);
    }
  }
  let s = 0;
  for (let i = 0; i < g.size; i++) s += Math.sqrt(difference[i]! ** 2 + (2 / Math.PI) * variance[i]!);
  return s / l1(map);
}

function reference(g: Grid): Float64Array {
  return trapezoidMap(
    g,
    Array.from({ length: g.N + 1 }, (_, j) => j),
  );
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

function main(): void {
  const dir = process.argv[2] ?? '/tmp/tm-grids';
  const filter = process.argv[3] ?? '';
  const chunk = Number(process.argv[4] ?? 4);
  const all = [
    shippedSimpson(4),
    trapezoidJumps(8, 'share', 1.25),
    trapezoidJumps(8, 'predict', 1.25),
    simpsonJumps(1, true, 'panel'),
    simpsonJumps(1, false, 'jump'),
    simpsonJumps(1, true, 'jump'),
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
    for (const c of candidates) {
      const stages = c.run(g, truth, chunk, 512);
      if (process.env.STAGES)
        for (const st of stages)
          console.log(
            `  ${st.evaluations} true ${pct(st.truth)} δ ${pct(st.delta)} est ${pct(st.estimates[c.stopBy]!)} ratio ${(st.estimates[c.stopBy]! / st.truth).toFixed(2)}`,
          );
      const s = summarise(stages, c.stopBy);
      console.log(
        `${g.name.padEnd(34)} ${c.label.padEnd(30)} stop ${String(s.stopEvaluations).padStart(4)} true ${pct(s.stopTruth)} ` +
          `est/true ${s.stopRatio.toFixed(2)} worst ${s.worstRatio.toFixed(2)} oracle ${s.oracleEvaluations}`,
      );
    }
  }
}

if (require.main === module) main();
