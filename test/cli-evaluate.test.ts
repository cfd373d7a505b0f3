/**
 * `pathlens evaluate` end to end (../shared/EVALUATION.md): the linear-model oracle of §10 on a real
 * saved TF.js model, curves against hand computation, shards in several processes merged = the
 * unsharded run, resume after an interrupted run, and the one-line refusals.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stepCounts } from '../src/core/evaluate/metrics';
import { linearModel, tempDir } from './helpers/analyticModels';
import { CLI, pathlens, pathlensAsync } from './helpers/cli';

// w has mixed signs and magnitudes so that ranking by w (gradient) differs from ranking by w⊙(x − x').
const W = [3, -1, 0.5, 2, -2, 1, 0.25, -0.5];
const B = 0.3;
const X = [0.2, 1.5, -2, 0.9, -0.4, 1.1, 3, 0.6];
const X_FILE_BASELINE = [0.1, 0.2, 0.3, -0.1, 0.5, 0.0, 1.0, -0.3];

function linearSetup() {
  const model = linearModel(W, B);
  const dir = path.dirname(model);
  const inputs = path.join(dir, 'inputs');
  fs.mkdirSync(inputs);
  const rows = [
    X,
    [1, 1, 1, 1, 1, 1, 1, 1],
    [-1, 2, 0.5, -0.3, 1.2, -2, 0.1, 0.7],
    [0.4, -0.6, 1.8, 0.2, -1.1, 0.9, -0.2, 1.3],
    [2, 0, -1, 1, 0.3, 0.3, -0.8, 0.05],
  ];
  rows.forEach((row, i) => fs.writeFileSync(path.join(inputs, `x${i}.json`), JSON.stringify(row)));
  const baselineFile = path.join(dir, 'baseline.json');
  fs.writeFileSync(baselineFile, JSON.stringify(X_FILE_BASELINE));
  return { model, inputs, rows, baselineFile, dir };
}

const F = (x: number[]) => x.reduce((s, v, i) => s + v * W[i]!, B);

/** The deletion curve by hand: replace the first m_k features of `order` by the baseline. */
function handDeletion(x: number[], baseline: number[], order: number[], steps: number): number[] {
  return stepCounts(x.length, steps).map((m) => F(x.map((v, i) => (order.slice(0, m).includes(i) ? baseline[i]! : v))));
}

describe('pathlens evaluate on a linear model (§10 oracle)', () => {
  const setup = linearSetup();

  it('curves equal the hand computation; IG wins every metric against gradient and random, for the zero and a file baseline', () => {
    for (const baseline of [null, setup.baselineFile]) {
      const xb = baseline ? X_FILE_BASELINE : W.map(() => 0);
      const flags = baseline ? ['--baseline', baseline] : [];
      const run = pathlens(
        'evaluate',
        '--model',
        setup.model,
        '--input',
        setup.inputs,
        '--method',
        'ig,gradient,grad-x-input',
        '--eval-steps',
        '5',
        '--json',
        ...flags,
      );
      expect(run.code, run.stderr).toBe(0);
      const json = JSON.parse(run.stdout);
      expect(json.metrics).toEqual(['deletion', 'insertion', 'morf', 'lerf']);
      expect(json.inputs).toHaveLength(5);
      const first = json.inputs[0];
      expect(first.path).toMatch(/x0\.json$/);
      expect(first.features).toBe(8);
      const a = X.map((v, i) => W[i]! * (v - xb[i]!));
      const order = a.map((_, i) => i).sort((i, j) => a[j]! - a[i]! || i - j);
      const ig = first.results.find((r: { method: string }) => r.method === 'ig');
      const deletion = ig.metrics.deletion.curve.map((p: { value: number }) => p.value);
      const expected = handDeletion(X, xb, order, 5);
      deletion.forEach((v: number, k: number) => expect(v).toBeCloseTo(expected[k]!, 4));
      expect(ig.metrics.deletion.curve.map((p: { fraction: number }) => p.fraction)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
      expect(ig.metrics.morf.curve).toEqual(ig.metrics.deletion.curve);
      // Insertion starts at F(x'), ends at F(x), and adds the top features' a first.
      const insertion = ig.metrics.insertion.curve.map((p: { value: number }) => p.value);
      const counts = stepCounts(8, 5);
      insertion.forEach((v: number, k: number) =>
        expect(v).toBeCloseTo(F(xb) + order.slice(0, counts[k]).reduce((s, i) => s + a[i]!, 0), 4),
      );
      for (const input of json.inputs) {
        const byMethod = (m: string) => input.results.find((r: { method: string }) => r.method === m).metrics;
        const best = byMethod('ig');
        for (const other of ['gradient', 'random', ...(baseline ? [] : ['grad-x-input'])]) {
          const o = byMethod(other);
          best.deletion.curve.forEach((p: { value: number }, k: number) =>
            expect(p.value).toBeLessThanOrEqual(o.deletion.curve[k].value + 1e-5),
          );
          best.insertion.curve.forEach((p: { value: number }, k: number) =>
            expect(p.value).toBeGreaterThanOrEqual(o.insertion.curve[k].value - 1e-5),
          );
          best.lerf.curve.forEach((p: { value: number }, k: number) =>
            expect(p.value).toBeGreaterThanOrEqual(o.lerf.curve[k].value - 1e-5),
          );
          expect(best.morf.aopc).toBeGreaterThanOrEqual(o.morf.aopc - 1e-5);
          expect(best.lerf.aopc).toBeLessThanOrEqual(o.lerf.aopc + 1e-5);
        }
      }
      const rank = (metric: string, method: string) =>
        json.summary.find((r: { metric: string; method: string }) => r.metric === metric && r.method === method);
      for (const metric of json.metrics) {
        expect(rank(metric, 'ig').rank).toBe(1);
        expect(rank(metric, 'gradient').rank).toBeGreaterThan(1); // strictly worse on these inputs
        expect(rank(metric, 'random').rank).toBeGreaterThan(1);
        const row = rank(metric, 'ig');
        expect(row.n).toBe(5);
        expect(row.ci95[0]).toBeLessThanOrEqual(row.mean);
        expect(row.ci95[1]).toBeGreaterThanOrEqual(row.mean);
        expect(row.ci95[1] - row.ci95[0]).toBeGreaterThan(0);
      }
      // With the zero baseline grad-x-input is IG: same ranking, same scores, shared rank 1.
      if (!baseline) for (const metric of json.metrics) expect(rank(metric, 'grad-x-input').rank).toBe(1);
    }
  });

  it('shards in several processes merge into the unsharded run; merge refuses missing, duplicated and mismatched shards', async () => {
    const common = [
      'evaluate',
      '--model',
      setup.model,
      '--input',
      setup.inputs,
      '--method',
      'ig,gradient',
      '--eval-steps',
      '4',
      '--bootstrap',
      '300',
      '--seed',
      '7',
    ];
    const whole = pathlens(...common, '--json');
    expect(whole.code, whole.stderr).toBe(0);
    const out = tempDir('eval-shards');
    const runs = await Promise.all([1, 2, 3].map((i) => pathlensAsync(...common, '--shard', `${i}/3`, '--out', out)));
    runs.forEach((r) => expect(r.code, r.stderr).toBe(0));
    expect(
      fs
        .readdirSync(out)
        .filter((n) => n.startsWith('evaluate-shard-'))
        .sort(),
    ).toEqual([1, 2, 3].map((i) => `evaluate-shard-${i}-of-3.json`));
    const shard2 = JSON.parse(fs.readFileSync(path.join(out, 'evaluate-shard-2-of-3.json'), 'utf8'));
    expect(shard2.shard).toEqual({ index: 2, count: 3 });
    expect(shard2.inputs.map((i: { index: number }) => i.index)).toEqual([1, 4]);
    const merged = pathlens('evaluate', 'merge', out, '--json');
    expect(merged.code, merged.stderr).toBe(0);
    const a = JSON.parse(whole.stdout);
    const b = JSON.parse(merged.stdout);
    const strip = (r: { inputs: { timing: unknown }[] }) => ({ ...r, inputs: r.inputs.map((i) => ({ ...i, timing: null })) });
    expect(b.shard).toBeNull();
    expect(strip(b)).toEqual(strip(a));

    const missing = pathlens(
      'evaluate',
      'merge',
      path.join(out, 'evaluate-shard-1-of-3.json'),
      path.join(out, 'evaluate-shard-3-of-3.json'),
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/shard 2 of 3 missing/);
    const dup = pathlens('evaluate', 'merge', out, path.join(out, 'evaluate-shard-2-of-3.json'));
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/given twice/);
    const other = tempDir('eval-other');
    expect(pathlens(...common.map((v) => (v === '4' ? '5' : v)), '--shard', '2/3', '--out', other).code).toBe(0);
    const mixed = pathlens(
      'evaluate',
      'merge',
      path.join(out, 'evaluate-shard-1-of-3.json'),
      path.join(other, 'evaluate-shard-2-of-3.json'),
      path.join(out, 'evaluate-shard-3-of-3.json'),
      '--out',
      other,
    );
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/different settings.*evalSteps/);
    expect(mixed.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(other, 'evaluate.json'))).toBe(false);
  });

  it('bad input: one line on stderr, exit ≠ 0, nothing written', () => {
    const out = tempDir('eval-bad');
    const cases: [string[], number, RegExp][] = [
      [['--patch', '2'], 2, /--patch needs an image input/],
      [['--eval-steps', '0'], 2, /--eval-steps must be a whole number/],
      [['--eval-steps', '2.5'], 2, /--eval-steps must be a whole number/],
      [['--shard', '4/3'], 2, /shard index must be between 1 and 3/],
      [['--shard', '0/3'], 2, /shard index must be between 1 and 3/],
      [['--metric', 'auc'], 2, /--metric must be one of/],
    ];
    for (const [flags, code, message] of cases) {
      const run = pathlens('evaluate', '--model', setup.model, '--input', setup.inputs, '--method', 'ig', '--out', out, ...flags);
      expect(run.code, flags.join(' ')).toBe(code);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
    expect(fs.readdirSync(out).filter((n) => !n.startsWith('.'))).toEqual([]);
  });
});

describe('pathlens evaluate resumes', () => {
  it('an interrupted run keeps its finished inputs; the rerun skips them and equals an uninterrupted run', async () => {
    const setup = linearSetup();
    // Enough inputs that the run is still going when the first results land in the cache.
    for (let i = 5; i < 60; i++)
      fs.writeFileSync(
        path.join(setup.inputs, `y${String(i).padStart(2, '0')}.json`),
        JSON.stringify(W.map((_, k) => Math.sin(i * 7 + k))),
      );
    const out = tempDir('eval-resume');
    const args = [
      'evaluate',
      '--model',
      setup.model,
      '--input',
      setup.inputs,
      '--method',
      'ig,gradient',
      '--eval-steps',
      '4',
      '--rule',
      'gauss-legendre',
      '--steps',
      '16',
      '--workers',
      '1',
    ];
    const child = spawn(process.execPath, [CLI, ...args, '--out', out], { stdio: 'ignore' });
    const cacheEntries = () => {
      const root = path.join(out, '.evaluate-cache');
      if (!fs.existsSync(root)) return 0;
      return fs
        .readdirSync(root)
        .reduce((n, d) => n + fs.readdirSync(path.join(root, d)).filter((f) => /^input-\d+\.json$/.test(f)).length, 0);
    };
    const killed = await new Promise<boolean>((resolve) => {
      const poll = setInterval(() => {
        if (cacheEntries() >= 3) {
          clearInterval(poll);
          resolve(child.kill('SIGKILL'));
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(poll);
        resolve(false);
      });
    });
    expect(killed, 'the run finished before it could be interrupted').toBe(true);
    expect(fs.existsSync(path.join(out, 'evaluate.json'))).toBe(false);
    const done = cacheEntries();
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(60);
    const resumed = pathlens(...args, '--out', out, '--json');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`on ${60 - done} inputs \\(${done} done earlier, from the cache\\)`));
    const fresh = pathlens(...args, '--json');
    const strip = (text: string) => {
      const r = JSON.parse(text);
      return { ...r, inputs: r.inputs.map((i: object) => ({ ...i, timing: null })) };
    };
    expect(strip(resumed.stdout)).toEqual(strip(fresh.stdout));
    expect(JSON.parse(fs.readFileSync(path.join(out, 'evaluate.json'), 'utf8')).inputs).toHaveLength(60);
  });

  it('a changed model (same path, other weights) is not served the cached results', () => {
    const setup = linearSetup();
    const out = tempDir('eval-model-changed');
    const args = ['evaluate', '--model', setup.model, '--input', setup.inputs, '--method', 'gradient', '--eval-steps', '4', '--json'];
    const first = pathlens(...args, '--out', out);
    expect(first.code, first.stderr).toBe(0);
    // Retrain in place: the same files, other weights (F doubles).
    const retrained = linearModel(
      W.map((w) => 2 * w),
      2 * B,
    );
    for (const name of fs.readdirSync(path.dirname(retrained)))
      if (name === 'model.json' || name.endsWith('.bin'))
        fs.copyFileSync(path.join(path.dirname(retrained), name), path.join(setup.dir, name));
    const second = pathlens(...args, '--out', out);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/done earlier, from the cache/);
    const auc = (text: string) => JSON.parse(text).inputs[0].results[0].metrics.deletion.auc as number;
    expect(auc(second.stdout)).toBeCloseTo(2 * auc(first.stdout), 5);
    // Unchanged, the rerun is served from the cache.
    expect(pathlens(...args, '--out', out).stderr).toMatch(/on 0 inputs \(5 done earlier, from the cache\)/);
  });
});
