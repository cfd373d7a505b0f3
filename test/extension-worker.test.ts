import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HostWorker, toWireError } from '../src/extension/worker';
import { DEFAULT_SETTINGS, type PathLensSettings } from '../src/extension/settings';
import { PathLensError } from '../src/core/errors';
import { buildJob } from '../src/extension/settings';

// A stand-in worker script: reports the tfjs-node path it inherited as its "backend", and per job
// either answers, crashes (exit 3) or hangs, as the job's first input says.
const FAKE_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.postMessage({ kind: 'ready', backend: process.env.PATHLENS_TFJS_NODE_PATH || 'cpu' });
parentPort.on('message', (req) => {
  if (req.kind !== 'explain') return;
  const mode = req.job.inputs[0];
  if (mode === 'crash') process.exit(3);
  if (mode === 'hang') return;
  // 'thread': the result names the worker thread that ran it (warm-worker tests).
  const backend = mode === 'thread' ? 'thread ' + require('node:worker_threads').threadId : 'cpu';
  parentPort.postMessage({ kind: 'progress', jobId: req.jobId, progress: { stage: 'x', done: 1, total: 1 } });
  parentPort.postMessage({ kind: 'explained', jobId: req.jobId, result: { model: {}, backend, preprocessing: null, inputs: [] } });
});
`;

let dir: string;
let settings: PathLensSettings = DEFAULT_SETTINGS;
const logs: string[] = [];
const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };
let worker: HostWorker | null = null;
const job = (mode: string) => buildJob(settings, '/m/model.json', [mode], ['ig']);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-hostworker-'));
  fs.writeFileSync(path.join(dir, 'worker.js'), FAKE_WORKER);
});
afterEach(async () => {
  await worker?.dispose();
  worker = null;
  settings = DEFAULT_SETTINGS;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('HostWorker', () => {
  it('runs a job and streams its events', async () => {
    worker = new HostWorker(dir, () => settings, log);
    const events: string[] = [];
    const result = await worker.explain(job('ok'), (e) => events.push(e.kind)).result;
    expect(result.inputs).toEqual([]);
    expect(events).toEqual(['progress']);
    expect(worker.busy).toBe(false);
  });

  it('survives a worker crash: the job fails with a clear error and the next job restarts the worker', async () => {
    worker = new HostWorker(dir, () => settings, log);
    const failure = await worker.explain(job('crash'), () => {}).result.catch((e: unknown) => e);
    expect(toWireError(failure)).toMatchObject({ code: 'memory' });
    expect(toWireError(failure).message).toMatch(/exited with code 3/);
    const again = await worker.explain(job('ok'), () => {}).result;
    expect(again.backend).toBe('cpu');
  });

  it('terminates a hung job: it fails as cancelled and the worker comes back', async () => {
    worker = new HostWorker(dir, () => settings, log);
    const hung = worker.explain(job('hang'), () => {});
    await new Promise((r) => setTimeout(r, 100));
    await worker.terminate('test');
    expect(toWireError(await hung.result.catch((e: unknown) => e)).code).toBe('cancelled');
    expect((await worker.explain(job('ok'), () => {}).result).backend).toBe('cpu');
  });

  it('passes the tfjs-node path setting to the worker only, and restarts it when the setting changes', async () => {
    const before = process.env.PATHLENS_TFJS_NODE_PATH;
    settings = { ...DEFAULT_SETTINGS, tfjsNodePath: '/opt/tfjs-node' };
    worker = new HostWorker(dir, () => settings, log);
    expect(await worker.start()).toBe('/opt/tfjs-node');
    expect(process.env.PATHLENS_TFJS_NODE_PATH).toBe(before);
    settings = { ...DEFAULT_SETTINGS, tfjsNodePath: '/elsewhere/tfjs-node' };
    expect(await worker.start()).toBe('/elsewhere/tfjs-node');
    expect(logs.some((l) => l.includes('restarting the attribution worker'))).toBe(true);
  });

  it('keeps the worker warm between jobs and stops it once idle for the idle time', async () => {
    worker = new HostWorker(dir, () => settings, log, 300);
    const first = (await worker.explain(job('thread'), () => {}).result).backend;
    const second = (await worker.explain(job('thread'), () => {}).result).backend;
    expect(second).toBe(first);
    await new Promise((r) => setTimeout(r, 800));
    expect(worker.backendName).toBeNull();
    expect(logs.some((l) => l.includes('stopping the attribution worker: idle'))).toBe(true);
    expect((await worker.explain(job('thread'), () => {}).result).backend).not.toBe(first);
  });

  it('never stops a worker for idleness while a job runs', async () => {
    worker = new HostWorker(dir, () => settings, log, 50);
    const hung = worker.explain(job('hang'), () => {});
    await new Promise((r) => setTimeout(r, 400));
    expect(worker.busy).toBe(true);
    expect(worker.backendName).not.toBeNull();
    await worker.terminate('test');
    await hung.result.catch(() => {});
  });

  it('stops the worker after every job with an idle time of 0 minutes', async () => {
    settings = { ...DEFAULT_SETTINGS, workerIdleMinutes: 0 };
    worker = new HostWorker(dir, () => settings, log);
    await worker.explain(job('ok'), () => {}).result;
    await new Promise((r) => setTimeout(r, 100));
    expect(worker.backendName).toBeNull();
  });

  it('reports errors as wire errors the panel shows', () => {
    expect(toWireError(new PathLensError('input', 'bad image'))).toMatchObject({ code: 'input', message: 'bad image' });
    expect(toWireError(new Error('boom')).code).toBe('internal');
  });
});
