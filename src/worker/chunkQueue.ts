/**
 * The pool's waiting chunks: most urgent first (lower priority number: the job's earlier inputs),
 * then first come. A free thread takes the first chunk it may run and, when that chunk allows it,
 * other waiting chunks of the same model, output and shape (other inputs, other classes) up to
 * `mergeUpTo` points, so one forward + backward pass serves several inputs' small rounds.
 */
import { CancelledError } from '../shared/errors';
import type { ChunkOrder } from '../core/engine/pointBatch';
import type { OutputKind } from '../shared/types';
import type { PointChunk, PointChunkResult } from '../shared/protocol';

export interface QueuedChunk {
  modelPath: string;
  output: OutputKind;
  inputShape: number[];
  target: number;
  chunk: PointChunk;
  /** The job it belongs to (its paths are released when that job ends). */
  owner: number;
  /** Only the pool's first `limit` threads may run it (the job's worker count). */
  limit: number;
  order: ChunkOrder;
  resolve: (r: PointChunkResult) => void;
  reject: (e: Error) => void;
}

const batchKey = (q: QueuedChunk) => `${q.modelPath}|${q.output}|${q.inputShape.join('x')}`;

export class ChunkQueue {
  private readonly waiting: QueuedChunk[] = [];

  get length(): number {
    return this.waiting.length;
  }

  add(chunk: QueuedChunk): void {
    const priority = chunk.order.priority ?? 0;
    const at = this.waiting.findIndex((q) => (q.order.priority ?? 0) > priority);
    this.waiting.splice(at < 0 ? this.waiting.length : at, 0, chunk);
  }

  /** Rejects (CancelledError) and removes the chunks whose job was cancelled. */
  dropCancelled(): void {
    this.drop((q) => q.order.signal?.cancelled === true);
  }

  /** Rejects (CancelledError) and removes the chunks of job `owner` (it ended: nobody awaits them). */
  dropOwner(owner: number): void {
    this.drop((q) => q.owner === owner);
  }

  private drop(when: (q: QueuedChunk) => boolean): void {
    for (let k = this.waiting.length - 1; k >= 0; k--) {
      const q = this.waiting[k]!;
      if (!when(q)) continue;
      this.waiting.splice(k, 1);
      q.reject(new CancelledError());
    }
  }

  rejectAll(err: Error): void {
    for (const q of this.waiting.splice(0)) q.reject(err);
  }

  /**
   * The chunks thread `index` computes next as one batch, or none. `ahead`: the thread is still busy
   * and this request waits in its inbox, so it is only taken once it fills half its merge size
   * (more chunks may arrive meanwhile and join a later, fuller batch).
   */
  take(index: number, ahead: boolean): QueuedChunk[] {
    const first = this.waiting.findIndex((q) => index < q.limit);
    if (first < 0) return [];
    const lead = this.waiting[first]!;
    const mergeUpTo = lead.order.mergeUpTo ?? 0;
    const key = batchKey(lead);
    const picked = [first];
    let points = lead.chunk.count;
    for (let k = first + 1; k < this.waiting.length && points < mergeUpTo; k++) {
      const q = this.waiting[k]!;
      if (index >= q.limit || points + q.chunk.count > mergeUpTo || batchKey(q) !== key) continue;
      picked.push(k);
      points += q.chunk.count;
    }
    if (ahead && mergeUpTo > 0 && points * 2 < mergeUpTo) return [];
    const taken = picked.map((k) => this.waiting[k]!);
    for (const k of picked.reverse()) this.waiting.splice(k, 1);
    return taken;
  }
}
