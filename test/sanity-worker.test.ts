import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../src/core/errors';
import type { SanityJob, WorkerEvent } from '../src/shared/protocol';
import { ModelCache } from '../src/worker/jobs';
import { runSanityJob } from '../src/worker/sanityJob';
import { tempDir } from './helpers/analyticModels';
import { useCpu } from './helpers/runMethod';

const ROOT = path.resolve(__dirname, '..');
const MNIST = path.resolve(ROOT, '../shared/zoo/mnist-cnn');
const job: SanityJob = {
  modelPath: path.join(MNIST, 'model.json'),
  input: path.join(MNIST, 'samples/sample_digit.png'),
  methods: ['gradient', 'ggig'],
  check: 'cascading',
  target: 'top',
  output: 'logit',
  preprocess: 'raw255',
  options: { scales: 4, ascentSteps: 1 },
};

beforeAll(useCpu);

describe('sanity job in the worker', () => {
  it('streams plan, original, steps and verdicts with everything a panel needs', async () => {
    const cache = new ModelCache();
    const events: WorkerEvent[] = [];
    const result = await runSanityJob(1, job, cache, { cancelled: false }, (e) => events.push(e));
    const sanity = events.filter((e): e is Extract<WorkerEvent, { kind: 'sanity' }> => e.kind === 'sanity').map((e) => e.event);
    expect(sanity.map((e) => e.type)).toEqual(['plan', 'original', 'step', 'step', 'step', 'step', 'step', 'verdicts']);
    const plan = sanity[0] as Extract<(typeof sanity)[number], { type: 'plan' }>;
    expect(plan.input.display).toMatchObject({ width: 28, height: 28 });
    expect(plan.steps.map((s) => s.layerIndex)).toEqual([1, 2, 3, 4, 5]);
    expect(plan.methods.map((m) => m.name)).toEqual(['gradient', 'ggig']);
    expect(events.some((e) => e.kind === 'progress')).toBe(true);
    expect(result.verdicts).toHaveLength(2);
    expect(result.original[1]!.params).toMatchObject({ scales: 4, ascentSteps: 1 });
    // Structured-clone safe (it crosses the worker boundary as is).
    expect(() => structuredClone(result)).not.toThrow();
    cache.clear();
  });

  it('stops between steps when cancelled, leaving no tensors behind', async () => {
    const cache = new ModelCache();
    await cache.get(job.modelPath);
    const before = tf.memory().numTensors;
    let steps = 0;
    const signal = {
      get cancelled() {
        return steps >= 2;
      },
    };
    await expect(
      runSanityJob(2, { ...job, methods: ['gradient'] }, cache, signal, (e) => {
        if (e.kind === 'sanity' && e.event.type === 'step') steps++;
      }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(steps).toBe(2);
    // The first evaluator on the cached model measures its chunk size once (TF.js keeps one tensor of that probe).
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(1);
    cache.clear();
  });
});

describe('CLI: pathlens sanity', () => {
  const CLI = path.join(ROOT, 'dist/cli.js');
  const run = (...args: string[]) => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
    const r = spawnSync(process.execPath, [CLI, 'sanity', ...args], { encoding: 'utf8', timeout: 300_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('perturbation --json and --out: per method, per level the similarities and the verdict; sanity.json has the maps', () => {
    const out = tempDir('sanity-cli');
    const r = run(
      '--model',
      job.modelPath,
      '--input',
      job.input,
      '--preprocess',
      'raw255',
      '--method',
      'gradient',
      '--check',
      'perturbation',
      '--levels',
      '0.002,0.05',
      '--draws',
      '2',
      '--seed',
      '3',
      '--backend',
      'cpu',
      '--json',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.check).toBe('perturbation');
    expect(json.seed).toBe(3);
    expect(json.steps.map((s: { label: string; draws: { drawn: number } }) => [s.label, s.draws.drawn])).toEqual([
      ['0.2%', 2],
      ['5%', 2],
    ]);
    const [gradient] = json.methods;
    expect(gradient.method).toBe('gradient');
    expect(gradient.verdict.status).toBe('pass');
    expect(gradient.steps[0].similarity.spearmanAbs).toBeGreaterThan(0.95);
    expect(gradient.steps[0].attribution).toBeUndefined();
    expect(gradient.original.attribution.data).toHaveLength(784);
    const file = JSON.parse(fs.readFileSync(path.join(out, 'sanity.json'), 'utf8'));
    expect(file.methods[0].steps[0].attribution.data).toHaveLength(784);
    expect(fs.readFileSync(path.join(out, 'grid.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('usage errors exit 2 before loading anything', () => {
    expect(run('--model', 'm.json', '--input', 'a.png', '--check', 'sideways').code).toBe(2);
    expect(run('--model', 'm.json', '--input', 'a.png', '--levels', '0.01,x').stderr).toContain('--levels');
    expect(run('--model', 'm.json', '--input', 'a.png', '--metric', 'psnr').stderr).toContain('--metric must be one of');
    expect(run('--model', 'm.json', '--input', 'a.png', '--method', 'nope').code).toBe(2);
  });
});
