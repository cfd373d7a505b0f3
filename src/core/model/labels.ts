import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Class labels from beside the model: Teachable Machine's `metadata.json` (`labels` array) or a
 * `labels.txt` with one label per line. Returns null when neither exists or is readable.
 */
export function readLabels(modelJsonPath: string): { labels: string[]; source: string } | null {
  const dir = path.dirname(path.resolve(modelJsonPath));
  const metadataFile = path.join(dir, 'metadata.json');
  if (fs.existsSync(metadataFile)) {
    try {
      const metadata = JSON.parse(fs.readFileSync(metadataFile, 'utf8')) as { labels?: unknown };
      if (Array.isArray(metadata.labels) && metadata.labels.every((l) => typeof l === 'string')) {
        return { labels: metadata.labels as string[], source: metadataFile };
      }
    } catch {
      // A broken metadata.json only costs the labels; fall through to labels.txt.
    }
  }
  const labelsFile = path.join(dir, 'labels.txt');
  if (fs.existsSync(labelsFile)) {
    const labels = fs
      .readFileSync(labelsFile, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
    if (labels.length > 0) return { labels, source: labelsFile };
  }
  return null;
}
