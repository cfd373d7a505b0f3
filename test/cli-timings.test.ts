import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunTimingsReport } from '../src/cli/timings';
import { CLI, ROOT } from './helpers/cli';

describe('PATHLENS_TIMINGS=1', () => {
  it('reports the phases, the result written after the last map, and each thread CPU by role', () => {
    const run = spawnSync(
      process.execPath,
      [
        CLI,
        'explain',
        '--model',
        path.join(ROOT, 'examples/shapes/model.json'),
        '--input',
        path.join(ROOT, 'examples/shapes/images/circle-1.png'),
        '--method',
        'ig',
        '--workers',
        '2',
        '--json',
      ],
      { encoding: 'utf8', timeout: 300_000, env: { ...process.env, PATHLENS_TIMINGS: '1' } },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).inputs).toHaveLength(1);
    const line = run.stderr.split('\n').find((l) => l.startsWith('pathlens timings: '));
    const t = JSON.parse(line!.slice('pathlens timings: '.length)) as RunTimingsReport;
    expect(t.firstProgressMs).toBeGreaterThan(0);
    expect(t.inputDoneMs[0]).toBeGreaterThan(t.firstProgressMs);
    expect(t.writtenMs).toBeGreaterThanOrEqual(t.jobMs);
    expect(t.timeOriginEpochMs + t.submittedAtMs).toBeLessThan(Date.now());
    // Linux (where the tests run): every thread is a task with its CPU time in /proc
    const roles = t.threads.map((th) => th.role);
    expect(roles.filter((r) => r === 'main')).toHaveLength(1);
    expect(roles.filter((r) => r === 'coordinator')).toHaveLength(1);
    expect(roles.filter((r) => r === 'evaluator')).toHaveLength(2);
    for (const th of t.threads.filter((x) => x.role !== 'other')) {
      expect(th.cpuMs).toBeGreaterThan(0);
      expect(th.computingCpuMs).toBeGreaterThanOrEqual(0);
      expect(th.computingCpuMs + th.writingCpuMs).toBeLessThanOrEqual(th.cpuMs);
    }
    const evaluatorsComputing = t.threads.filter((x) => x.role === 'evaluator').reduce((a, x) => a + x.computingCpuMs, 0);
    expect(evaluatorsComputing).toBeGreaterThan(0);
  });
});
