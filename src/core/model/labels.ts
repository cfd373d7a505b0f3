import { PathLensError } from '../errors';
import * as path from 'node:path';
import { modelFolderOf, readModelMetadata, readSidecarBytes } from './sidecars';

/**
 * Class labels from beside the model: Teachable Machine's `metadata.json` (`labels` array) or a
 * `labels.txt` with one label per line. Returns null when neither exists; a sidecar that exists but
 * is unusable (outside the folder, not a regular file, invalid) is a one-line error naming it.
 */
export function readLabels(modelJsonPath: string): { labels: string[]; source: string } | null {
  const metadata = readModelMetadata(modelJsonPath);
  if (metadata?.labels && metadata.labels.length > 0) {
    return { labels: metadata.labels, source: path.join(modelFolderOf(modelJsonPath), 'metadata.json') };
  }
  const read = readSidecarBytes(modelJsonPath, 'labels.txt');
  if (!read) return null;
  const text = new TextDecoder('utf-8').decode(read.bytes);
  if (text.includes('\0')) throw new PathLensError('model-json', `${read.file} is not a text file (it holds NUL bytes)`);
  const labels = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return labels.length > 0 ? { labels, source: read.file } : null;
}
