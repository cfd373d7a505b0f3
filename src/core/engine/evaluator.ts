import * as tf from '@tensorflow/tfjs-core';
import { CancelledError, PathLensError } from '../errors';
import type { CancellationSignal, ProgressCallback } from '../types';
import {
  reducePointChunk,
  type Backward,
  type PointBuilder,
  type PointChunk,
  type PointChunkResult,
  type RemoteEvaluator,
  type StraightPathBuilder,
} from './pointBatch';
import { scalarValues, type ExplainedScalar } from './scalar';
import { MEMORY_SAFETY_FACTOR, measureBytesPerPoint } from './batchProbe';

import { DEFAULT_MEMORY_BUDGET_MB } from '../safety/limits';

export { DEFAULT_MEMORY_BUDGET_MB };
/** Measured activation bytes per path point, per loaded model (the same for every class and input). */
const BYTES_PER_POINT = new WeakMap<object, number>();

/** Beyond this many points per chunk a bigger batch buys no speed, only memory. */
const MAX_CHUNK = 64;
/** Chunks of one evaluation in flight per pool thread (its memory is bounded by the plan's batch). */
const REMOTE_DEPTH = 2;

/** Points per gradient chunk in each executing thread, chosen by measured throughput (batchProbe.ts). */
export interface BatchPlan {
  batch: number;
  /** Measured transient bytes of one evaluation (forward + input gradient). */
  bytesPerPoint: number;
  /** Points one pool request may carry when chunks of several inputs share it (the fastest measured batch). */
  mergeBatch?: number;
}

export interface EvaluatorOptions {
  memoryBudgetMB?: number;
  signal?: CancellationSignal;
  onProgress?: ProgressCallback;
  /** Fixed chunk size (tests); otherwise measured from the model against the budget. */
  chunkSize?: number;
  /** Pool workers holding the same model: `evaluatePoints` shares chunks with them. */
  remotes?: RemoteEvaluator[];
  /** Measured batch size per executor (else chunks are sized from the memory budget alone). */
  plan?: BatchPlan;
}

/** Points known up front, with the reductions wanted from their gradients (see `PointChunk`). */
export interface PointSpec {
  count: number;
  /**
   * Row-major points [start, start + count) of the whole set. A `StraightPathBuilder` (from
   * `straightPathPoints`) describes them instead: chunks then carry alphas, not points.
   */
  build: PointBuilder | StraightPathBuilder;
  /** Per-point multipliers m_j of the built points (row-major): reductions use ∇F(p_j) ⊙ m_j. */
  multipliers?(start: number, count: number, points: Float32Array): Float32Array;
  /** Per-point weights over the whole set: chunks report Σ w_j g_j. */
  weights?: ArrayLike<number>;
  /** Chunks report g_j · direction. */
  direction?: Float32Array;
  /** Chunks report Σ_j g_j ⊙ g_j. */
  sumOfSquares?: boolean;
  /** Chunks report Σ_i g_j,i per point. */
  totals?: boolean;
  keepGradients?: boolean;
  /**
   * Another backward pass in place of ∇F (PatternAttribution), named in errors. It runs in this
   * thread: pool threads hold the model, not what the method propagates back.
   */
  backward?: { name: string; run: Backward };
}

/**
 * Evaluates F and ∇F at many points in chunks sized from a memory budget, inside `tf.tidy`, checking
 * for cancellation and reporting progress between chunks. Counts every evaluation it makes.
 */
export class Evaluator {
  evaluations = 0;
  private measuredChunk: number | null;
  readonly memoryBudgetBytes: number;

  constructor(
    readonly fn: ExplainedScalar,
    private readonly options: EvaluatorOptions = {},
  ) {
    this.memoryBudgetBytes = (options.memoryBudgetMB ?? DEFAULT_MEMORY_BUDGET_MB) * 1024 * 1024;
    this.measuredChunk = options.chunkSize ?? null;
  }

  get inputShape(): number[] {
    return this.fn.model.inputShape;
  }

  get inputSize(): number {
    return this.fn.model.inputShape.reduce((a, b) => a * b, 1);
  }

  /** Throws CancelledError if the job was cancelled. */
  checkCancelled(): void {
    if (this.options.signal?.cancelled) throw new CancelledError();
  }

  progress(stage: string, done: number, total: number): void {
    this.options.onProgress?.({ stage, done, total });
  }

  /**
   * Points per gradient chunk over all executors: the measured plan's batch in each, else the
   * transient bytes of one measured evaluation (TF.js' own accounting of a forward+backward pass on
   * one point) against the budget.
   */
  async chunkSize(): Promise<number> {
    if (this.measuredChunk !== null) return this.measuredChunk;
    const plan = this.options.plan;
    const bytesPerPoint = plan?.bytesPerPoint ?? (await this.measureBytesPerPoint());
    const fits = Math.floor(this.memoryBudgetBytes / (bytesPerPoint * MEMORY_SAFETY_FACTOR));
    if (fits < 1) {
      const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
      throw new PathLensError(
        'memory',
        `one gradient evaluation of this model needs about ${mb(bytesPerPoint * MEMORY_SAFETY_FACTOR)} MB but the memory budget is ${mb(this.memoryBudgetBytes)} MB; raise the memory budget (--memory-budget-mb / pathlens.memoryBudgetMB)`,
      );
    }
    // A measured plan: its batch in every executor (chosen within each one's share of the budget).
    this.measuredChunk = plan ? plan.batch * Math.max(1, this.options.remotes?.length ?? 0) : Math.min(MAX_CHUNK, fits);
    return this.measuredChunk;
  }

  /** Transient bytes of one forward+backward pass on one point, by TF.js' own accounting (once per model). */
  private async measureBytesPerPoint(): Promise<number> {
    const known = BYTES_PER_POINT.get(this.fn.model);
    if (known !== undefined) return known;
    const bytes = await measureBytesPerPoint(this.fn);
    this.evaluations += 1;
    BYTES_PER_POINT.set(this.fn.model, bytes);
    return bytes;
  }

  /**
   * F, ∇F and the reductions of `spec` at every point, chunked by the memory budget and shared between
   * this thread and the pool workers (each takes the next chunk when free). `consume` sees the chunks
   * in order of their start index, so sums accumulate in the same order whoever computed them.
   */
  async evaluatePoints(spec: PointSpec, consume: (start: number, result: PointChunkResult) => void, stage: string): Promise<void> {
    const local = (c: PointChunk) => reducePointChunk(this.fn, this.inputShape, c, spec.backward?.run);
    // With pool workers this thread only dispatches: computing here too would stall them, because a
    // worker's finished chunk cannot be answered while this thread is inside a synchronous kernel.
    const remotes = spec.backward ? [] : (this.options.remotes ?? []);
    const threads = Math.max(1, remotes.length);
    // The budget is shared by all threads, down to one point each. The chunks depend on the point
    // count, plan and thread count only, so sums are the same however many jobs share the threads.
    const perThread = Math.max(1, Math.floor((await this.chunkSize()) / threads));
    const chunk = Math.max(1, Math.min(perThread, Math.ceil(spec.count / threads)));
    // REMOTE_DEPTH chunks in flight per pool thread: the next waits in its inbox while one computes.
    const executors = remotes.length
      ? remotes.flatMap((r) => Array.from({ length: REMOTE_DEPTH }, () => (c: PointChunk) => r.evaluate(c)))
      : [local];
    const deliver = inOrder(consume);
    const gradientName = spec.backward?.name ?? 'gradient';
    let next = 0;
    let done = 0;
    let failed = false;
    this.progress(stage, 0, spec.count);
    const drain = async (run: (c: PointChunk) => Promise<PointChunkResult>) => {
      while (!failed && next < spec.count) {
        this.checkCancelled();
        const start = next;
        const count = Math.min(chunk, spec.count - start);
        next += count;
        const result = await run(pointChunk(spec, start, count));
        this.evaluations += count;
        assertFinite(result.value, 'model output', stage);
        assertFinite(result.gradNorm, gradientName, stage);
        deliver(start, count, result);
        done += count;
        this.progress(stage, done, spec.count);
        // Let cancel requests through between chunks computed in this thread.
        if (run === local) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    try {
      await Promise.all(executors.map(drain));
    } catch (err) {
      failed = true;
      throw err;
    }
  }

  /** F and ∇F at one point (row-major, the model's input shape). */
  async gradientAt(point: Float32Array, stage: string): Promise<{ value: number; grad: Float32Array }> {
    let out: { value: number; grad: Float32Array } | undefined;
    await this.evaluatePoints(
      { count: 1, build: () => Float32Array.from(point), keepGradients: true },
      (_start, r) => {
        out = { value: r.value[0]!, grad: r.gradients! };
      },
      stage,
    );
    return out!;
  }

  /**
   * The chunk loop of work done in this thread: checks cancellation before each chunk, counts its
   * evaluations and reports progress after it, and lets pending messages (cancel requests, progress
   * flushes) through between chunks.
   */
  async forChunks(count: number, chunk: number, stage: string, body: (start: number, count: number) => Promise<void>): Promise<void> {
    this.progress(stage, 0, count);
    for (let start = 0; start < count; start += chunk) {
      this.checkCancelled();
      const n = Math.min(chunk, count - start);
      await body(start, n);
      this.evaluations += n;
      this.progress(stage, start + n, count);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** F at `count` points built by `build` (forward passes only, chunked). */
  async values(count: number, build: (start: number, count: number) => tf.Tensor, stage = 'forward'): Promise<Float64Array> {
    const out = new Float64Array(count);
    // Forward passes keep no activations for a backward pass, so they fit several times more points.
    const chunk = Math.max(1, (await this.chunkSize()) * 2);
    await this.forChunks(count, chunk, stage, async (start, n) => {
      const values = tf.tidy(() => scalarValues(this.fn, build(start, n)));
      const data = await values.data();
      values.dispose();
      for (let i = 0; i < n; i++) out[start + i] = data[i]!;
      assertFinite(out.subarray(start, start + n), 'model output', stage);
    });
    return out;
  }
}

/**
 * The chunk of `spec` at [start, start + count), with its reductions. Points on a straight path are
 * described (path and alphas), not built: the executing thread builds them, the same bits.
 */
function pointChunk(spec: PointSpec, start: number, count: number): PointChunk {
  const path = (spec.build as Partial<StraightPathBuilder>).path;
  const described = path && !spec.multipliers;
  const points = described ? undefined : spec.build(start, count);
  return {
    points,
    path: described ? { ...path, alphas: (spec.build as StraightPathBuilder).alphas.slice(start, start + count) } : undefined,
    count,
    multipliers: spec.multipliers?.(start, count, points!),
    weights: spec.weights ? Float32Array.from({ length: count }, (_, j) => spec.weights![start + j]!) : undefined,
    direction: spec.direction,
    sumOfSquares: spec.sumOfSquares,
    totals: spec.totals,
    keepGradients: spec.keepGradients,
  };
}

/** Hands chunks finishing in any order to `consume` in order of their start index. */
function inOrder(consume: (start: number, result: PointChunkResult) => void) {
  const waiting = new Map<number, { count: number; result: PointChunkResult }>();
  let next = 0;
  return (start: number, count: number, result: PointChunkResult) => {
    waiting.set(start, { count, result });
    for (let ready = waiting.get(next); ready; ready = waiting.get(next)) {
      waiting.delete(next);
      consume(next, ready.result);
      next += ready.count;
    }
  };
}

function assertFinite(values: ArrayLike<number>, what: string, stage: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new PathLensError(
        'non-finite',
        `the ${what} became ${values[i]} during ${stage}; the model produces NaN/Inf on these inputs (check the preprocessing range and the model's weights)`,
      );
    }
  }
}
