/**
 * Loaded models by path, for the coordinator worker and its pool threads. The coordinator reads and
 * validates a model's files once (`source`); its pool threads build their copies from those bytes
 * (`prepare`) instead of reading, parsing and validating the files again, and skip the load-time
 * forward pass the coordinator already ran on the same bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel, type LoadedModel } from '../core/model/load';
import { readModelArtifacts, type ReadArtifacts } from '../core/model/artifacts';
import { isOnnxModelPath } from '../core/model/onnx/load';

/**
 * One version of a model's files as the coordinator read them: `stamp` names the version (size and
 * mtime of every file), `read` holds its validated artifacts when they travel with it (absent: the
 * receiver holds this version already or reads the files itself).
 */
export interface ModelSource {
  stamp: string;
  read?: ReadArtifacts;
}

interface Entry {
  stamp: string;
  model: Promise<LoadedModel>;
}

/** Loaded models by path, reloaded when model.json, any shard or an ONNX external-data file changes on disk. */
export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  /** Artifacts read for the pool before this thread's own load, kept until that load takes them. */
  private readonly pendingReads = new Map<string, { stamp: string; read: ReadArtifacts }>();
  /** Models read from disk (cache misses) since the cache was made. */
  reads = 0;
  /** Models built from artifacts another thread read (pool threads). */
  handedOver = 0;

  /** `onLoad` hears of every model built (`fromDisk`: this thread read the files). */
  constructor(private readonly onLoad: (modelPath: string, fromDisk: boolean) => void = () => {}) {}

  /** `memoryBudgetMB` bounds the model's declared sizes at load (see loadModel). */
  async get(modelPath: string, memoryBudgetMB?: number): Promise<LoadedModel> {
    const file = path.resolve(modelPath);
    const cached = this.entries.get(file);
    if (cached) {
      const model = await settled(cached.model);
      if (model && cached.stamp === modelFileStamp(file, model.summary.onnx?.externalData) && this.entries.get(file) === cached)
        return model;
    }
    return this.load(file, modelFileStamp(file), memoryBudgetMB);
  }

  /**
   * The version of the model's files that this thread will use, for its pool threads: with the
   * validated artifacts when it has not loaded this version yet (they are read here, once, and this
   * thread's own load takes them), without when it holds it already (so do the pool threads, unless
   * one was respawned: that one reads the files itself). ONNX models travel as their path only.
   */
  source(modelPath: string): ModelSource {
    const file = path.resolve(modelPath);
    const cached = this.entries.get(file);
    const stamp = modelFileStamp(file);
    if ((cached && cached.stamp === stamp) || isOnnxModelPath(file)) return { stamp };
    const pending = this.pendingReads.get(file);
    if (pending?.stamp === stamp) return pending;
    const read = readModelArtifacts(file);
    this.pendingReads.set(file, { stamp, read });
    return { stamp, read };
  }

  /**
   * A pool thread's copy of the coordinator's version `source`: built from the artifacts that came
   * with it, kept when this thread holds that version, else read from disk. Later `current` calls
   * return this version without looking at the disk again, so a job computes on one version.
   */
  async prepare(modelPath: string, source: ModelSource | undefined, memoryBudgetMB?: number): Promise<LoadedModel> {
    const file = path.resolve(modelPath);
    const cached = this.entries.get(file);
    if (source && cached && cached.stamp === source.stamp) {
      const model = await settled(cached.model);
      if (model) return model;
    }
    if (source?.read) return this.load(file, source.stamp, memoryBudgetMB, source.read);
    return this.get(file, memoryBudgetMB);
  }

  /** The version last loaded or prepared for the path (no disk access), else `get`. */
  async current(modelPath: string): Promise<LoadedModel> {
    const cached = this.entries.get(path.resolve(modelPath));
    const model = cached ? await settled(cached.model) : null;
    return model ?? this.get(modelPath);
  }

  /** Forgets artifacts read for the pool that this thread's own load did not take (a job that failed first). */
  dropPendingReads(): void {
    this.pendingReads.clear();
  }

  clear(): void {
    for (const { model } of this.entries.values()) void settled(model).then((m) => m?.dispose());
    this.entries.clear();
    this.pendingReads.clear();
  }

  private load(file: string, stamp: string, memoryBudgetMB: number | undefined, handed?: ReadArtifacts): Promise<LoadedModel> {
    const previous = this.entries.get(file);
    if (previous) void settled(previous.model).then((m) => m?.dispose());
    const pending = this.pendingReads.get(file);
    this.pendingReads.delete(file);
    const own = pending?.stamp === stamp ? pending.read : undefined;
    const model = loadModel(file, {
      memoryBudgetMB,
      channelsLast: true,
      ...(handed ? { artifacts: handed, verified: true } : own ? { artifacts: own } : {}),
    }).then((loaded) => {
      const external = loaded.summary.onnx?.externalData;
      if (external?.length && this.entries.get(file) === entry) entry.stamp = modelFileStamp(file, external);
      if (handed) this.handedOver++;
      else this.reads++;
      this.onLoad(file, !handed);
      return loaded;
    });
    const entry: Entry = { stamp, model };
    this.entries.set(file, entry);
    // A failed load leaves no entry: the next request tries again (and reports the error again).
    model.catch(() => {
      if (this.entries.get(file) === entry) this.entries.delete(file);
    });
    return model;
  }
}

/** The model, or null when its load failed (that load's caller reports the error). */
function settled(model: Promise<LoadedModel>): Promise<LoadedModel | null> {
  return model.then(
    (m) => m,
    () => null,
  );
}

/** Size and mtime of the model file, every weight shard beside it and the named (ONNX external) data files: a change invalidates a cache. */
export function modelFileStamp(modelPath: string, external: readonly string[] = []): string {
  const file = path.resolve(modelPath);
  try {
    const dir = path.dirname(file);
    const names = fs.readdirSync(dir).filter((name) => name === path.basename(file) || name.endsWith('.bin'));
    return [...new Set([...names, ...external])]
      .map((name) => {
        const stat = fs.statSync(path.join(dir, name));
        return `${name}:${stat.size}:${stat.mtimeMs}`;
      })
      .join('|');
  } catch {
    return String(Date.now()); // unreadable: let loadModel report the real error
  }
}
