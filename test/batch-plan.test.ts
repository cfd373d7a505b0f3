import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/engine/backend';
import {
  chooseBatch,
  chooseMergeBatch,
  mergeProbes,
  minBytesPerPoint,
  peakBufferBytes,
  probeBatchSizes,
  type BatchProbe,
} from '../src/core/engine/batchProbe';
import { modelFileHash, probeEnvironmentKey, readCachedProbe, writeCachedProbe } from '../src/core/engine/profileCache';
import { loadModel, type LoadedModel } from '../src/core/model/load';
import { BatchPlanner } from '../src/worker/batchPlan';
import { denseModel, tempDir } from './helpers/analyticModels';

const MB = 1024 * 1024;
const probe = (sizes: [number, number][], extra: Partial<BatchProbe> = {}): BatchProbe => ({
  bytesPerPoint: 10 * MB,
  sizes: sizes.map(([batch, msPerPoint]) => ({ batch, msPerPoint })),
  budgetBytes: 1024 * MB,
  stoppedEarly: false,
  ...extra,
});

/** A 16 → 8 → 3 dense model in its own folder (the profile cache writes beside it), named apart so each has its own hash. */
let models = 0;
function smallModel(): string {
  const kernel = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i + 1) / 4);
  return denseModel(`batch-plan-${models++}`, 16, [
    { units: 8, activation: 'relu', kernel: kernel(128), bias: kernel(8) },
    { units: 3, activation: 'linear', kernel: kernel(24), bias: [0, 0, 0] },
  ]);
}

let cacheDir: string;
const previousCacheDir = process.env.PATHLENS_CACHE_DIR;
beforeAll(async () => {
  cacheDir = tempDir('profile-cache');
  process.env.PATHLENS_CACHE_DIR = cacheDir;
  await initBackend('cpu');
});
afterAll(() => {
  if (previousCacheDir === undefined) delete process.env.PATHLENS_CACHE_DIR;
  else process.env.PATHLENS_CACHE_DIR = previousCacheDir;
});

describe('batch size choice', () => {
  it('picks the smallest size within 5 % of the fastest per point, among those that fit the budget', () => {
    const p = probe([
      [1, 10],
      [2, 6],
      [4, 5.9],
      [8, 4],
    ]);
    expect(chooseBatch(p, 1024 * MB)).toBe(8);
    // 8 points need 8 × 10 MB × 1.5 = 120 MB: with 100 MB the best that fits is 2 (4 is within 5 % of it).
    expect(chooseBatch(p, 100 * MB)).toBe(2);
    expect(chooseBatch(p, 1 * MB)).toBe(1);
  });

  it('lets pool requests merge up to the largest size within 5 % of the fastest that fits', () => {
    const p = probe([
      [1, 10],
      [2, 6],
      [4, 5.9],
      [8, 7],
    ]);
    expect(chooseMergeBatch(p, 1024 * MB)).toBe(4);
    expect(chooseMergeBatch(p, 50 * MB)).toBe(2);
    expect(chooseMergeBatch(p, 1 * MB)).toBe(1);
  });

  it('merges the probes of threads run at once: the lower median time per size, the largest memory', () => {
    const merged = mergeProbes([
      probe(
        [
          [1, 10],
          [2, 8],
        ],
        { bytesPerPoint: 5 },
      ),
      probe([[1, 12]], { bytesPerPoint: 7, stoppedEarly: true }),
    ]);
    expect(merged.sizes).toEqual([{ batch: 1, msPerPoint: 10 }]);
    expect(merged.bytesPerPoint).toBe(7);
    expect(merged.stoppedEarly).toBe(true);
  });
});

describe('batch probe on a real model', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModel(smallModel());
  });
  afterAll(() => model.dispose());

  it('times only the sizes that fit the budget and measures the memory per point', async () => {
    const fn = { model, target: 0, output: 'logit' as const };
    const wide = await probeBatchSizes(fn, 1024 * MB);
    expect(wide.bytesPerPoint).toBeGreaterThanOrEqual(minBytesPerPoint(16));
    expect(wide.sizes.map((s) => s.batch)).toEqual([1, 2, 4, 8, 16].slice(0, wide.sizes.length));
    expect(wide.sizes.every((s) => s.msPerPoint > 0 && Number.isFinite(s.msPerPoint))).toBe(true);
    const twoPoints = await probeBatchSizes(fn, wide.bytesPerPoint * 1.5 * 2.5, wide.bytesPerPoint);
    expect(twoPoints.sizes.map((s) => s.batch)).toEqual([1, 2].slice(0, twoPoints.sizes.length));
    expect((await probeBatchSizes(fn, wide.bytesPerPoint, wide.bytesPerPoint)).sizes).toEqual([]);
  });
});

describe('memory per point', () => {
  it('counts each buffer once at its peak (views made by reshape share their input’s data) and frees what is disposed', async () => {
    const before = tf.memory().numTensors;
    const { peakBytes, result } = await peakBufferBytes(async () => {
      const a = tf.zeros([1000]);
      const views = [tf.reshape(a, [10, 100]), tf.reshape(a, [100, 10]), tf.reshape(a, [1000, 1])];
      const scratch = tf.ones([500]);
      scratch.dispose();
      const b = tf.ones([250]);
      return [a, ...views, b];
    });
    // a (4000 bytes, its three views free) plus the larger of scratch (2000) and b (1000).
    expect(peakBytes).toBe(6000);
    tf.dispose(result);
    expect(tf.memory().numTensors).toBe(before);
    // The engine's own bookkeeping is restored: a later view is not counted anywhere.
    const again = await peakBufferBytes(async () => [tf.zeros([10])]);
    expect(again.peakBytes).toBe(40);
    tf.dispose(again.result);
  });
});

describe('profile cache', () => {
  const env = probeEnvironmentKey('cpu', 2);
  const p = probe([
    [1, 3],
    [2, 2],
  ]);

  it('keeps a probe in the user cache, or beside the model when its .pathlens folder exists, per model hash and environment', () => {
    const plain = smallModel();
    const plainHash = modelFileHash(plain);
    expect(writeCachedProbe(plain, plainHash, env, p)).toBe(path.join(cacheDir, 'profiles', `profile-${plainHash.slice(0, 16)}.json`));
    // Explaining creates nothing in the model folder.
    expect(fs.readdirSync(path.dirname(plain)).sort()).toEqual(['model.json', 'weights.bin']);
    expect(readCachedProbe(plain, plainHash, env, 1)).toEqual(p);
    const file = smallModel();
    fs.mkdirSync(path.join(path.dirname(file), '.pathlens'));
    const hash = modelFileHash(file);
    const written = writeCachedProbe(file, hash, env, p);
    expect(written).toBe(path.join(path.dirname(file), '.pathlens', `profile-${hash.slice(0, 16)}.json`));
    expect(readCachedProbe(file, hash, env, 1)).toEqual(p);
    expect(readCachedProbe(file, hash, probeEnvironmentKey('cpu', 3), 1)).toBeNull();
    // Another topology (model.json changed) has another hash: its file is not found.
    fs.appendFileSync(file, ' ');
    expect(readCachedProbe(file, modelFileHash(file), env, 1)).toBeNull();
  });

  it('ignores damaged files and implausible memory figures', () => {
    const file = smallModel();
    fs.mkdirSync(path.join(path.dirname(file), '.pathlens'));
    const hash = modelFileHash(file);
    const written = writeCachedProbe(file, hash, env, p)!;
    expect(readCachedProbe(file, hash, env, p.bytesPerPoint + 1)).toBeNull();
    fs.writeFileSync(written, '{"format": "pathlens-profile", "version": 1, "modelHash": "' + hash + '", "entries": {"x": 1}}');
    expect(readCachedProbe(file, hash, env, 1)).toBeNull();
    fs.writeFileSync(written, '{not json');
    expect(readCachedProbe(file, hash, env, 1)).toBeNull();
  });

  it('falls back to the user cache for a read-only .pathlens or a .pathlens link out of the model folder', () => {
    const readOnly = smallModel();
    const dotDir = path.join(path.dirname(readOnly), '.pathlens');
    fs.mkdirSync(dotDir);
    fs.chmodSync(dotDir, 0o555);
    try {
      const hash = modelFileHash(readOnly);
      expect(writeCachedProbe(readOnly, hash, env, p)).toBe(path.join(cacheDir, 'profiles', `profile-${hash.slice(0, 16)}.json`));
      expect(fs.readdirSync(dotDir)).toEqual([]);
      expect(readCachedProbe(readOnly, hash, env, 1)).toEqual(p);
    } finally {
      fs.chmodSync(dotDir, 0o755);
    }
    const linked = smallModel();
    const outside = tempDir('profile-outside');
    fs.symlinkSync(outside, path.join(path.dirname(linked), '.pathlens'));
    const hash = modelFileHash(linked);
    const other = probe([[1, 7]]);
    expect(writeCachedProbe(linked, hash, env, other)).toContain(path.join(cacheDir, 'profiles'));
    expect(fs.readdirSync(outside)).toEqual([]);
    // A profile planted outside through the link is not read either.
    fs.writeFileSync(path.join(outside, `profile-${hash.slice(0, 16)}.json`), '{}');
    expect(readCachedProbe(linked, hash, env, 1)).toEqual(other);
  });
});

describe('BatchPlanner', () => {
  it('probes once per model and environment; a new planner (the next run) reads the cache; a larger budget probes again', async () => {
    const modelPath = smallModel();
    const model = await loadModel(modelPath);
    let probes = 0;
    const request = (budgetBytes: number) => ({
      model,
      modelPath,
      backend: 'cpu',
      threads: 2,
      budgetBytes,
      probe: async (budgetPerThread: number) => {
        probes++;
        return probe(
          [
            [1, 4],
            [2, 3],
          ],
          { budgetBytes: budgetPerThread, bytesPerPoint: 10 * MB },
        );
      },
    });
    try {
      const first = await new BatchPlanner().plan(request(100 * MB));
      expect(first.plan).toEqual({ batch: 2, bytesPerPoint: 10 * MB, mergeBatch: 2 });
      expect(first.source).toMatch(/^probe \(saved to .*profiles/);
      const planner = new BatchPlanner();
      expect((await planner.plan(request(100 * MB))).source).toBe('cache');
      expect((await planner.plan(request(100 * MB))).source).toBe('memory');
      expect(probes).toBe(1);
      // 1 GB over 2 threads fits 34 points: sizes 4 … 16 were never timed, so the planner measures again.
      expect((await planner.plan(request(1024 * MB))).source).toMatch(/^probe/);
      expect(probes).toBe(2);
    } finally {
      model.dispose();
    }
  });
});
