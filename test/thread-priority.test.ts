import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkerClient } from '../src/worker/client';

const WORKER = path.join(path.resolve(__dirname, '..'), 'dist/worker.js');

/** Nice value of every thread of this process (field 19 of /proc/<pid>/task/<tid>/stat). */
function niceByThread(): Map<number, number> {
  const dir = `/proc/${process.pid}/task`;
  return new Map(
    fs.readdirSync(dir).map((tid) => {
      const stat = fs.readFileSync(path.join(dir, tid, 'stat'), 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return [Number(tid), Number(fields[16])];
    }),
  );
}

describe.runIf(process.platform === 'linux')('compute thread priority', () => {
  it('a low-priority worker renices its own thread only, never the host thread', async () => {
    const before = niceByThread();
    const client = new WorkerClient({ workerScript: WORKER, backend: 'cpu', workers: 1, lowPriority: true });
    try {
      await client.start();
      const after = niceByThread();
      const niced = [...after].filter(([tid, nice]) => !before.has(tid) && nice === 10);
      expect(niced).toHaveLength(1);
      expect(after.get(process.pid)).toBe(before.get(process.pid));
    } finally {
      await client.dispose();
    }
    const normal = new WorkerClient({ workerScript: WORKER, backend: 'cpu', workers: 1 });
    try {
      const known = niceByThread();
      await normal.start();
      expect([...niceByThread()].filter(([tid, nice]) => !known.has(tid) && nice === 10)).toEqual([]);
    } finally {
      await normal.dispose();
    }
  });
});
