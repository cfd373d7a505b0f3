/**
 * The straight paths a pool thread holds for its coordinator: each path's x′ and x − x′ arrive once
 * (with the first chunk on it) and stay until the coordinator releases them, so later chunks carry
 * only their alphas. The coordinator mirrors this cache per thread (pool.ts) and bounds it.
 */
import { PathLensError } from '../shared/errors';
import type { EvaluatorRequest, PathArrays, PointChunk, PoolChunk, TargetedChunk } from '../shared/protocol';

type ChunkRequest = Extract<EvaluatorRequest, { kind: 'chunk' }>;

export class PathStore {
  private readonly paths = new Map<number, PathArrays>();

  get size(): number {
    return this.paths.size;
  }

  release(ids: readonly number[]): void {
    for (const id of ids) this.paths.delete(id);
  }

  /** Applies the request's releases and new paths, then gives its parts with their paths in full. */
  admit(request: ChunkRequest): TargetedChunk[] {
    this.release(request.release ?? []);
    for (const path of request.paths ?? []) this.paths.set(path.id, path);
    return request.parts.map(({ target, chunk }) => ({ target, chunk: this.resolve(chunk) }));
  }

  private resolve(chunk: PoolChunk): PointChunk {
    const { path, pathDirection, ...rest } = chunk;
    if (!path) return rest;
    const arrays = this.paths.get(path.id);
    if (!arrays) throw new PathLensError('internal', `pool thread: path ${path.id} was not sent or already released`);
    return { ...rest, path: { ...arrays, alphas: path.alphas }, direction: pathDirection ? arrays.direction : rest.direction };
  }
}
