/**
 * The data a pattern fit streams over: a folder of images, CSV tables or JSON array files, read one
 * file at a time and handed out in batches, so memory holds one batch (plus the file being parsed)
 * whatever the data size.
 */
import { extname } from 'node:path';
import { PathLensError } from '../errors';
import { expandInputPaths, IMAGE_EXTENSIONS, prepareFile, readInputFile } from '../input';
import type { Preprocessing } from '../types';
import type { SampleBatch } from './fit';

export interface DataOptions {
  inputShape: number[];
  preprocessing: Preprocessing | null;
  /** Use at most this many samples (default: all). */
  maxSamples?: number;
  batchSize: number;
  crop?: 'none' | 'center';
}

/** Batches of samples from `paths` (files or folders), in file order. */
export async function* dataBatches(paths: string[], options: DataOptions): AsyncGenerator<SampleBatch> {
  const files = expandInputPaths(paths);
  if (files.length === 0) throw new PathLensError('input', 'no data files given');
  const limit = options.maxSamples ?? Infinity;
  const images = files.filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).length;
  // Images count one each; tables count once read.
  let total = Math.min(limit, images);
  let taken = 0;
  let pending: Float32Array[] = [];
  for (const file of files) {
    if (taken >= limit) break;
    const bytes = readInputFile(file, 'data file');
    const isImage = IMAGE_EXTENSIONS.includes(extname(file).toLowerCase());
    const prepared = prepareFile(file, bytes, { inputShape: options.inputShape }, options.preprocessing, {
      maxRows: Number.isFinite(limit) ? limit - taken : undefined,
      crop: options.crop,
    });
    if (!isImage) total = Math.min(limit, total + prepared.length);
    for (const input of prepared) {
      if (taken >= limit) break;
      pending.push(input.data);
      taken += 1;
      if (pending.length >= options.batchSize) {
        yield { samples: pending, total };
        pending = [];
      }
    }
  }
  if (pending.length > 0) yield { samples: pending, total };
}
