/**
 * Pool threads that evaluate point chunks for the coordinator worker. Each holds its own backend and
 * model cache; chunks wait in one queue (most urgent first: the earliest input of a job) and go to
 * whichever thread is free, up to `THREAD_DEPTH` per thread so a thread finds its next chunk without
 * waiting for the coordinator. The coordinator sums in float64.
 * Threads stay alive between jobs (their models, kernels and touched memory stay warm); a job first
 * asks every thread to load its model (`prepare`), in parallel with the coordinator's own load.
 */
import { Worker } from 'node:worker_threads';
import type { ChunkOrder, RemoteEvaluator } from '../core/engine/pointBatch';
import { ChunkQueue } from './chunkQueue';
import { CancelledError, PathLensError } from '../shared/errors';
import type { OutputKind } from '../shared/types';
import type {
  BatchProbe,
  EvaluatorEvent,
  EvaluatorRequest,
  PathArrays,
  PointChunk,
  PointChunkResult,
  PoolChunk,
  PoolThreadStats,
  WireModelSource,
  WorkerInit,
} from '../shared/protocol';
import type { QueuedChunk } from './chunkQueue';
import { distinctBuffers } from './transfer';

export { defaultWorkerCount } from './bootInfo';

type Reply = PointChunkResult[] | BatchProbe | PoolThreadStats | undefined;

interface PoolThread {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>;
  /** Set once 'ready' arrived, so requests are posted without waiting a microtask. */
  started: boolean;
  /** The paths this thread holds (its PathStore mirrored), least recently used first. */
  paths: Map<number, { owner: number; bytes: number }>;
}

type ChunkRequest = Unnumbered<Extract<EvaluatorRequest, { kind: 'chunk' }>>;

/** Bytes of path arrays a pool thread keeps at most (a job of many inputs: the least recently used go). */
export const PATH_CACHE_BYTES = 64 * 1024 * 1024;

/** A request without its id (the pool numbers them). */
type Unnumbered<R> = R extends { id: number } ? Omit<R, 'id'> : never;

/** Chunks posted to one thread at once: the one it computes and the next, already in its inbox. */
export const THREAD_DEPTH = 2;

export class EvaluationPool {
  private threads: PoolThread[] = [];
  private readonly prestarted: Worker[] = [];
  private readonly queue = new ChunkQueue();
  private nextId = 1;
  /** Models loaded by the pool threads since the pool started (cache misses). */
  modelReads = 0;
  /** Bytes of arrays posted in chunk requests (points, paths, reductions' inputs) since the pool started. */
  postedBytes = 0;
  /** Jobs that ended: their late chunks are dropped and their paths never sent again. */
  private readonly ended = new Set<number>();
  /** How many of those loads read the model's files (the others were handed the coordinator's read). */
  modelFileReads = 0;

  /** `size`: pool threads (the coordinator dispatches to them and computes nothing itself). */
  constructor(
    private readonly script: string,
    private readonly init: WorkerInit,
    readonly size: number,
    private readonly pathCacheBytes = PATH_CACHE_BYTES,
  ) {}

  /**
   * Remote evaluators of one explained scalar, one per thread it may use (at most `limit`): each
   * queues its chunks for whichever of those threads is free first.
   */
  remotesFor(
    owner: number,
    modelPath: string,
    target: number,
    output: OutputKind,
    limit: number,
    inputShape: number[],
    order: ChunkOrder = {},
  ): RemoteEvaluator[] {
    const evaluate = (chunk: PointChunk) =>
      new Promise<PointChunkResult>((resolve, reject) => {
        if (this.ended.has(owner)) {
          reject(new CancelledError());
          return;
        }
        this.queue.add({ owner, modelPath, output, inputShape, target, chunk, limit, order, resolve, reject });
        this.dispatch();
      });
    return this.use(limit).map(() => ({ evaluate }));
  }

  /**
   * Starts up to `limit` threads and has each load the model (a no-op for a thread that holds it):
   * `source` is the coordinator's version of the files, with the artifacts it read when it has them.
   */
  async prepare(modelPath: string, memoryBudgetMB: number | undefined, limit = this.size, source?: WireModelSource): Promise<void> {
    await Promise.all(this.use(limit).map((thread) => this.send(thread, { kind: 'load', modelPath, memoryBudgetMB, source })));
  }

  /** Each of up to `limit` threads measures its throughput per batch size, all at once (as they will run). */
  probe(modelPath: string, output: OutputKind, inputShape: number[], budgetBytes: number, limit = this.size): Promise<BatchProbe[]> {
    return Promise.all(
      this.use(limit).map(
        (thread) => this.send(thread, { kind: 'probe', modelPath, output, inputShape, budgetBytes }) as Promise<BatchProbe>,
      ),
    );
  }

  /**
   * Job `owner` ended (done, failed or cancelled): its waiting chunks are dropped and every thread
   * drops its paths (after the requests already in its inbox, which may still use them).
   */
  release(owner: number): void {
    this.ended.add(owner);
    this.queue.dropOwner(owner);
    for (const thread of this.threads) {
      const ids = [...thread.paths].filter(([, p]) => p.owner === owner).map(([id]) => id);
      if (ids.length === 0) continue;
      for (const id of ids) thread.paths.delete(id);
      this.post(thread, { kind: 'release', paths: ids }).catch(() => {}); // a dead thread holds nothing
    }
  }

  /** What each started thread holds now (paths, tensors). */
  stats(): Promise<PoolThreadStats[]> {
    return Promise.all(this.threads.map((thread) => this.send(thread, { kind: 'stats' }) as Promise<PoolThreadStats>));
  }

  /** Spawns every thread now (each starts its backend in parallel with whatever comes next). */
  start(): void {
    this.use(this.size);
  }

  async dispose(): Promise<void> {
    this.queue.rejectAll(new CancelledError());
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  /** Posts queued chunks to free threads (at most THREAD_DEPTH requests each), most urgent first. */
  private dispatch(): void {
    this.queue.dropCancelled();
    if (this.queue.length === 0) return;
    const threads = this.use(this.size);
    for (let depth = 1; depth <= THREAD_DEPTH && this.queue.length > 0; depth++) {
      threads.forEach((thread, index) => {
        if (!thread.started || thread.pending.size >= depth) return;
        const parts = this.queue.take(index, depth > 1);
        if (parts.length === 0) return;
        const request = this.chunkRequest(thread, parts);
        this.postedBytes += requestBytes(request);
        const points = parts.flatMap((p) => (p.chunk.points ? [p.chunk.points.buffer as ArrayBuffer] : []));
        const reply = this.post(thread, request, points) as Promise<PointChunkResult[]>;
        reply.then(
          (results) => parts.forEach((p, k) => p.resolve(results[k]!)),
          (err: Error) => parts.forEach((p) => p.reject(err)),
        );
      });
    }
  }

  /** One request for `parts`: paths by id, with the arrays of those `thread` does not hold yet. */
  private chunkRequest(thread: PoolThread, parts: QueuedChunk[]): ChunkRequest {
    const { modelPath, output, inputShape } = parts[0]!;
    const paths: PathArrays[] = [];
    const wire = parts.map(({ target, chunk, owner }) => ({ target, chunk: this.poolChunk(thread, chunk, owner, paths) }));
    const used = new Set(parts.flatMap((p) => (p.chunk.path ? [p.chunk.path.id] : [])));
    const release = this.evict(thread, used);
    return {
      kind: 'chunk',
      modelPath,
      output,
      inputShape,
      parts: wire,
      ...(release.length ? { release } : {}),
      ...(paths.length ? { paths } : {}),
    };
  }

  /** `chunk` as posted to `thread`: its path by id (arrays added to `paths` on the thread's first use). */
  private poolChunk(thread: PoolThread, chunk: PointChunk, owner: number, paths: PathArrays[]): PoolChunk {
    const { path, ...rest } = chunk;
    if (!path) return rest;
    const held = thread.paths.get(path.id);
    thread.paths.delete(path.id); // re-inserted last: most recently used
    thread.paths.set(path.id, held ?? { owner, bytes: path.baseline.byteLength + path.direction.byteLength });
    if (!held) paths.push({ id: path.id, baseline: path.baseline, direction: path.direction });
    const ownDirection = chunk.direction === path.direction;
    return { ...rest, path: { id: path.id, alphas: path.alphas }, ...(ownDirection ? { direction: undefined, pathDirection: true } : {}) };
  }

  /** Paths `thread` drops to stay within its path cache bytes, least recently used first (never those in `used`). */
  private evict(thread: PoolThread, used: ReadonlySet<number>): number[] {
    let bytes = 0;
    for (const p of thread.paths.values()) bytes += p.bytes;
    const dropped: number[] = [];
    for (const [id, p] of thread.paths) {
      if (bytes <= this.pathCacheBytes) break;
      if (used.has(id)) continue;
      thread.paths.delete(id);
      dropped.push(id);
      bytes -= p.bytes;
    }
    return dropped;
  }

  private use(limit: number): PoolThread[] {
    while (this.threads.length < this.size) this.threads.push(this.spawn());
    return this.threads.slice(0, Math.max(0, limit));
  }

  /**
   * Threads the boot entry already started from this pool's script and init (worker/boot.ts, while
   * this bundle loaded): the next spawns take them instead of starting new ones.
   */
  adopt(workers: Worker[]): void {
    this.prestarted.push(...workers);
  }

  private spawn(): PoolThread {
    const worker =
      this.prestarted.shift() ??
      new Worker(this.script, {
        workerData: { ...this.init, role: 'evaluator', spawnedAt: performance.now() } satisfies WorkerInit,
      });
    const pending: PoolThread['pending'] = new Map();
    const thread: PoolThread = { worker, pending, ready: Promise.resolve(), started: false, paths: new Map() };
    const fail = (err: Error) => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      this.threads = this.threads.filter((t) => t !== thread); // respawned on next use
      this.dispatch(); // queued chunks go to the others (or a new thread)
    };
    thread.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (event: EvaluatorEvent) => {
        if (event.kind === 'ready') {
          thread.started = true;
          resolve();
          this.dispatch();
        } else if (event.kind === 'fatal') {
          const err = new PathLensError(event.error.code, `pool worker: ${event.error.message}`);
          reject(err);
          fail(err);
        } else if (event.kind === 'model-read') {
          this.modelReads++;
          if (event.fromDisk) this.modelFileReads++;
        } else {
          this.settle(pending, event);
          this.dispatch();
        }
      });
      worker.on('error', (err) => {
        const failure = new PathLensError('internal', `a pool worker crashed: ${err.message}`);
        reject(failure);
        fail(failure);
      });
      worker.on('exit', (code) => fail(new PathLensError('memory', `a pool worker exited (code ${code}); out of memory?`)));
    });
    thread.ready.catch(() => {});
    return thread;
  }

  private settle(pending: PoolThread['pending'], event: Extract<EvaluatorEvent, { id: number }>): void {
    const job = pending.get(event.id);
    if (!job) return;
    pending.delete(event.id);
    if (event.kind === 'failed') job.reject(new PathLensError(event.error.code, event.error.message));
    else if (event.kind === 'chunk-result') job.resolve(event.results);
    else if (event.kind === 'probed') job.resolve(event.probe);
    else if (event.kind === 'stats') job.resolve(event.stats);
    else job.resolve(undefined);
  }

  private async send(thread: PoolThread, request: Unnumbered<EvaluatorRequest>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (!thread.started) await thread.ready;
    return this.post(thread, request, transfer);
  }

  private post(thread: PoolThread, request: Unnumbered<EvaluatorRequest>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    const numbered = { ...request, id: this.nextId++ } as EvaluatorRequest;
    return new Promise<Reply>((resolve, reject) => {
      thread.pending.set(numbered.id, { resolve, reject });
      thread.worker.postMessage(numbered, distinctBuffers(transfer));
    });
  }
}

/** Bytes of the typed arrays a chunk request carries (what postMessage copies or transfers). */
function requestBytes(request: ChunkRequest): number {
  let bytes = 0;
  for (const path of request.paths ?? []) bytes += path.baseline.byteLength + path.direction.byteLength;
  for (const { chunk } of request.parts) {
    for (const array of [chunk.points, chunk.multipliers, chunk.weights, chunk.direction]) bytes += array?.byteLength ?? 0;
    bytes += (chunk.path?.alphas.length ?? 0) * 8;
  }
  return bytes;
}
