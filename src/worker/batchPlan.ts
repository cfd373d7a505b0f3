/**
 * The batch plan of a job: points per chunk in each executing thread, chosen by measured throughput
 * (core/engine/batchProbe.ts). Known plans are kept in memory for the worker's life and on disk per
 * model hash (core/engine/profileCache.ts), so only the first run on a model and machine probes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BatchPlan } from '../core/engine/evaluator';
import {
  chooseBatch,
  chooseMergeBatch,
  minBytesPerPoint,
  PROBE_BATCH_SIZES,
  pointsThatFit,
  type BatchProbe,
} from '../core/engine/batchProbe';
import { modelFileHash, probeEnvironmentKey, readCachedProbe, writeCachedProbe } from '../core/engine/profileCache';
import type { LoadedModel } from '../core/model/load';

/** Points per chunk of one input with pool threads (its rounds: this × threads points). */
export const POOL_ROUND_BATCH = 2;

export interface PlanRequest {
  model: LoadedModel;
  modelPath: string;
  backend: string;
  /** Threads computing gradients (pool threads, or 1 for the coordinator alone). */
  threads: number;
  budgetBytes: number;
  /** Runs the probe in the executing threads with each one's share of the budget. */
  probe: (budgetPerThread: number) => Promise<BatchProbe>;
}

export interface PlannedBatch {
  plan: BatchPlan;
  /** Where the probe came from: 'memory', 'cache <file>', 'probe (saved to <file>)', 'probe (not saved)'. */
  source: string;
}

/** A probe covers a budget when it measured every size that fits it (or found the sizes slowing down). */
function covers(probe: BatchProbe, budgetPerThread: number): boolean {
  if (probe.sizes.length === 0) return false;
  if (probe.stoppedEarly || probe.budgetBytes >= budgetPerThread) return true;
  const largest = probe.sizes[probe.sizes.length - 1]!.batch;
  const fits = pointsThatFit(budgetPerThread, probe.bytesPerPoint);
  return !PROBE_BATCH_SIZES.some((b) => b > largest && b <= fits);
}

export class BatchPlanner {
  private readonly known = new Map<string, BatchProbe>();
  private readonly hashes = new Map<string, { stamp: string; hash: string }>();

  async plan(request: PlanRequest): Promise<PlannedBatch> {
    const budgetPerThread = request.budgetBytes / request.threads;
    const hash = this.hashOf(request.modelPath);
    const envKey = probeEnvironmentKey(request.backend, request.threads);
    const key = `${hash}|${envKey}`;
    const size = request.model.inputShape.reduce((a, b) => a * b, 1);
    let probe = this.known.get(key);
    let source = 'memory';
    if (!probe || !covers(probe, budgetPerThread)) {
      probe = readCachedProbe(request.modelPath, hash, envKey, minBytesPerPoint(size)) ?? undefined;
      source = 'cache';
    }
    if (!probe || !covers(probe, budgetPerThread)) {
      probe = await request.probe(budgetPerThread);
      // No size timed: not even one point fits the budget, which the evaluator reports per input.
      if (probe.sizes.length === 0) return { plan: { batch: 1, bytesPerPoint: probe.bytesPerPoint }, source: 'probe (nothing fits)' };
      const file = writeCachedProbe(request.modelPath, hash, envKey, probe);
      source = file ? `probe (saved to ${file})` : 'probe (not saved: no writable cache folder)';
    }
    this.known.set(key, probe);
    const mergeBatch = chooseMergeBatch(probe, budgetPerThread);
    // With pool threads an input's rounds stay small and the same on every machine and run (they
    // decide its evaluations); pool requests merge the rounds of several inputs up to the fastest batch.
    const batch = request.threads > 1 ? Math.min(POOL_ROUND_BATCH, mergeBatch) : chooseBatch(probe, budgetPerThread);
    return { plan: { batch, bytesPerPoint: probe.bytesPerPoint, mergeBatch }, source };
  }

  private hashOf(modelPath: string): string {
    const file = path.resolve(modelPath);
    const stat = fs.statSync(file);
    const stamp = `${stat.size}:${stat.mtimeMs}`;
    const known = this.hashes.get(file);
    if (known?.stamp === stamp) return known.hash;
    const hash = modelFileHash(file);
    this.hashes.set(file, { stamp, hash });
    return hash;
  }
}
