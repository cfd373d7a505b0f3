/**
 * Development script: on uniform trapezoid levels (8…256 intervals) of each dense grid, the true map
 * error against the grid's full trapezoid and the jump model's estimate √(2/π)·Σ_i √V_i / ‖A‖₁ with
 * V_i = Σ_k (x_i Δg_{k,i} s)² / 12 (no safety factor, no width correction): how the single-jump model
 * under-states the error on wide intervals.
 *   npx tsx scripts/dev/map-error-levels.ts [grid-dir=/tmp/tm-grids] [name-filter]
 */
import * as fs from 'node:fs';
import { at, l1, loadGrid, trapezoidMap, type Grid } from './map-error-rules';

/** V_i = Σ_k (x_i Δg_{k,i} s_k)² / 12 over the intervals between `nodes`. */
function jumpVariance(g: Grid, nodes: readonly number[]): Float64Array {
  const variance = new Float64Array(g.size);
  for (let k = 0; k + 1 < nodes.length; k++) {
    const [ga, gb] = [at(g, nodes[k]!), at(g, nodes[k + 1]!)];
    const s = (nodes[k + 1]! - nodes[k]!) / g.N;
    for (let i = 0; i < g.size; i++) variance[i]! += (g.x[i]! * (gb[i]! - ga[i]!) * s) ** 2 / 12;
  }
  return variance;
}

const dir = process.argv[2] ?? '/tmp/tm-grids';
const filter = process.argv[3] ?? '';
for (const file of fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json') && f.includes(filter))
  .sort()) {
  const g = loadGrid(dir, file);
  const ref = trapezoidMap(
    g,
    Array.from({ length: g.N + 1 }, (_, j) => j),
  );
  const refNorm = l1(ref);
  const cells: string[] = [];
  for (let intervals = 8; intervals <= 256; intervals *= 2) {
    const nodes = Array.from({ length: intervals + 1 }, (_, k) => (k * g.N) / intervals);
    const map = trapezoidMap(g, nodes);
    let d = 0;
    for (let i = 0; i < g.size; i++) d += Math.abs(map[i]! - ref[i]!);
    const variance = jumpVariance(g, nodes);
    let sd = 0;
    for (const v of variance) sd += Math.sqrt(v);
    const estimate = (Math.sqrt(2 / Math.PI) * sd) / l1(map);
    cells.push(`${intervals}: ${((d / refNorm) * 100).toFixed(2)}% t/e ${(d / refNorm / estimate).toFixed(2)}`);
  }
  console.log(`${g.name.padEnd(40)} ${cells.join(' | ')}`);
}
