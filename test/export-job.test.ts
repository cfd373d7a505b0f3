import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toJsonString } from '../src/core/report/json';
import { WorkerClient } from '../src/worker/client';
import { fixture } from './report-fixtures';

const WORKER = path.resolve(__dirname, '../dist/worker.js');

function client() {
  if (!fs.existsSync(WORKER)) throw new Error(`${WORKER} is missing: run 'npm run build' first (npm test does)`);
  return new WorkerClient({ workerScript: WORKER, backend: 'cpu', workers: 1 });
}

describe('export jobs (the panel’s HTML / JSON export, run in the worker)', () => {
  it('writes the self-contained HTML report with one progress event per map, and result.json as the CLI does', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-export-'));
    const { result } = fixture(path.join(dir, 'missing.png'));
    const worker = client();
    try {
      const progress: number[] = [];
      const html = path.join(dir, 'report.html');
      const written = await worker.exportReport({ result, format: 'html', file: html }, (e) => {
        if (e.kind === 'progress') progress.push(e.progress.done);
      }).result;
      const maps = result.inputs.reduce((n, i) => n + i.results.length, 0);
      expect(progress).toEqual([...Array(maps).keys()]);
      expect(written).toEqual({ file: html, bytes: fs.statSync(html).size });
      const page = fs.readFileSync(html, 'utf8');
      expect(page).toContain('<html');
      expect(page).toContain('data:image/png;base64,');

      const json = path.join(dir, 'result.json');
      await worker.exportReport({ result, format: 'json', file: json }).result;
      expect(fs.readFileSync(json, 'utf8')).toBe(toJsonString(result, true) + '\n');
    } finally {
      await worker.dispose();
    }
  });

  it('a cancelled export writes nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-export-'));
    const { result } = fixture();
    const worker = client();
    try {
      const file = path.join(dir, 'report.html');
      const job = worker.exportReport({ result, format: 'html', file });
      job.cancel();
      await expect(job.result).rejects.toMatchObject({ code: 'cancelled' });
      expect(fs.existsSync(file)).toBe(false);
    } finally {
      await worker.dispose();
    }
  });
});
