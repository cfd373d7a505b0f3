/**
 * Development script: simulates adaptive Simpson refinement on the saved dense grids
 * (map-error-grid.ts) and prints, per stage, the true map error against the 1025-point composite
 * Simpson reference and candidate estimates, to calibrate the estimator.
 *   npx tsx scripts/dev/map-error-calibrate.ts [/tmp/map-error-grids]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Grid {
  name: string;
  n: number;
  size: number;
  input: number[];
  grad: Float32Array;
}

function load(dir: string): Grid[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const meta = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      const buf = fs.readFileSync(path.join(dir, f.replace(/\.json$/, '.grad.bin')));
      return {
        name: f.replace(/\.json$/, ''),
        n: meta.n,
        size: meta.size,
        input: meta.input,
        grad: new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4),
      };
    });
}

function l1(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += Math.abs(x);
  return s;
}

function simulate(g: Grid, log: (line: string) => void): { n: number; truth: number; signed: number; abs: number }[] {
  const N = g.n - 1;
  const at = (j: number, i: number) => g.grad[j * g.size + i]!;
  const simpsonMap = (panels: [number, number][]) => {
    const a = new Float64Array(g.size);
    const v = new Float64Array(g.size);
    let absSum = 0;
    for (const [lo, hi] of panels) {
      const h = (hi - lo) / N;
      const mid = (lo + hi) / 2;
      const pv = new Float64Array(g.size);
      for (let i = 0; i < g.size; i++) {
        const ga = at(lo, i),
          gm = at(mid, i),
          gb = at(hi, i);
        a[i]! += g.input[i]! * (h / 6) * (ga + 4 * gm + gb);
        pv[i] = g.input[i]! * (h / 12) * (-ga + 2 * gm - gb);
      }
      for (let i = 0; i < g.size; i++) v[i]! += pv[i]!;
      absSum += l1(pv);
    }
    return { a, v, absSum };
  };
  const reference = simpsonMap(Array.from({ length: N / 2 }, (_, k) => [2 * k, 2 * k + 2] as [number, number])).a;
  const refNorm = l1(reference);
  let panels: [number, number][] = Array.from({ length: 4 }, (_, k) => [(k * N) / 4, ((k + 1) * N) / 4] as [number, number]);
  const rows: { n: number; truth: number; signed: number; abs: number }[] = [];
  for (;;) {
    const { a, v, absSum } = simpsonMap(panels);
    const diff = new Float64Array(g.size);
    for (let i = 0; i < g.size; i++) diff[i] = a[i]! - reference[i]!;
    const points = 2 * panels.length + 1;
    const row = { n: points, truth: l1(diff) / refNorm, signed: l1(v) / l1(a), abs: absSum / l1(a) };
    rows.push(row);
    log(
      `${g.name.padEnd(40)} n=${String(points).padStart(4)} truth=${(row.truth * 100).toFixed(2)}% signed=${(row.signed * 100).toFixed(2)}% abs=${(row.abs * 100).toFixed(2)}%`,
    );
    if (points > 300) break;
    // Split the panels carrying half of the total indicator (map-level, unsigned).
    const scored = panels.map((p) => {
      const [lo, hi] = p;
      const h = (hi - lo) / N;
      let s = 0;
      const mid = (lo + hi) / 2;
      for (let i = 0; i < g.size; i++) s += Math.abs(g.input[i]! * (h / 12) * (-at(lo, i) + 2 * at(mid, i) - at(hi, i)));
      return { p, s, splittable: hi - lo >= 4 };
    });
    const total = scored.reduce((t, x) => t + x.s, 0);
    const chosen = new Set<[number, number]>();
    let covered = 0;
    for (const x of [...scored].sort((u, w) => w.s - u.s)) {
      if (covered >= total / 2) break;
      if (!x.splittable) continue;
      chosen.add(x.p);
      covered += x.s;
    }
    if (chosen.size === 0) break;
    panels = panels.flatMap((p) =>
      chosen.has(p) ? [[p[0], (p[0] + p[1]) / 2] as [number, number], [(p[0] + p[1]) / 2, p[1]] as [number, number]] : [p],
    );
  }
  return rows;
}

const dir = process.argv[2] ?? '/tmp/map-error-grids';
for (const g of load(dir)) simulate(g, console.log);
