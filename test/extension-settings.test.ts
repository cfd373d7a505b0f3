import { describe, expect, it } from 'vitest';
import { buildJob, DEFAULT_SETTINGS, isBaselineFile, readSettings, workerKey } from '../src/extension/settings';

const known = ['ig', 'gradient', 'grad-x-input'];
const getter = (values: Record<string, unknown>) => (key: string) => values[key];

describe('readSettings', () => {
  it('gives the defaults for an empty configuration', () => {
    expect(readSettings(getter({}), known)).toEqual(DEFAULT_SETTINGS);
  });

  it('reads valid values', () => {
    const s = readSettings(
      getter({
        backend: 'wasm',
        defaultMethods: ['gradient', 'ig'],
        'ig.steps': 128,
        'ig.rule': 'trapezoid',
        baseline: 'blur',
        output: 'probability',
        preprocess: 'imagenet',
        memoryBudgetMB: 256,
        colormap: 'viridis',
        divergingColormap: 'piyg',
        tfjsNodePath: ' /opt/tfjs-node ',
      }),
      known,
    );
    expect(s).toEqual({
      backend: 'wasm',
      defaultMethods: ['gradient', 'ig'],
      igSteps: 128,
      igRule: 'trapezoid',
      igTolerance: 0.01,
      igMapTolerance: 0.02,
      workers: 0,
      baseline: 'blur',
      output: 'probability',
      preprocess: 'imagenet',
      memoryBudgetMB: 256,
      colormap: 'viridis',
      divergingColormap: 'piyg',
      tfjsNodePath: '/opt/tfjs-node',
      workerIdleMinutes: 10,
    });
    expect(readSettings(getter({ 'ig.tolerance': 0.001, workers: 2 }), known)).toMatchObject({ igTolerance: 0.001, workers: 2 });
  });

  it('replaces invalid values with defaults instead of failing', () => {
    const s = readSettings(
      getter({
        backend: 'gpu',
        defaultMethods: ['nope', 3],
        'ig.steps': 0.5,
        'ig.rule': 'simpson',
        output: 'x',
        memoryBudgetMB: -1,
        colormap: 'rdbu',
        preprocess: 'weird',
        baseline: '  ',
      }),
      known,
    );
    expect(s.backend).toBe('auto');
    expect(s.defaultMethods).toEqual(known);
    expect(s.igSteps).toBe(50);
    expect(s.igRule).toBe('adaptive');
    expect(s.output).toBe('logit');
    expect(s.memoryBudgetMB).toBe(1024);
    expect(s.colormap).toBe('inferno');
    expect(s.preprocess).toBeUndefined();
    expect(s.baseline).toBe('zero');
  });

  it('maps preprocess auto to the core default and accepts mean-std', () => {
    expect(readSettings(getter({ preprocess: 'auto' }), known).preprocess).toBeUndefined();
    expect(readSettings(getter({ preprocess: 'mean-std:127.5,127.5,127.5/127.5,127.5,127.5' }), known).preprocess).toBe(
      'mean-std:127.5,127.5,127.5/127.5,127.5,127.5',
    );
  });

  it('drops duplicate and unknown default methods', () => {
    expect(readSettings(getter({ defaultMethods: ['ig', 'ig', 'other', 'gradient'] }), known).defaultMethods).toEqual(['ig', 'gradient']);
  });
});

describe('buildJob', () => {
  it('turns settings into a worker job', () => {
    const job = buildJob(
      { ...DEFAULT_SETTINGS, igSteps: 32, igRule: 'trapezoid', baseline: 'black', preprocess: 'signed' },
      '/m/model.json',
      ['/m/a.png'],
      ['ig', 'gradient'],
    );
    expect(job).toEqual({
      modelPath: '/m/model.json',
      inputs: ['/m/a.png'],
      methods: ['ig', 'gradient'],
      target: 'top',
      output: 'logit',
      preprocess: 'signed',
      // ig.* settings apply to Integrated Gradients only; other methods keep their own defaults.
      options: {
        baseline: 'black',
        seed: 0,
        methodOverrides: { ig: { steps: 32, rule: 'trapezoid', tolerance: 0.01, mapTolerance: 0.02 } },
      },
      memoryBudgetMB: 1024,
    });
  });

  it('omits preprocess when the core decides, and lets panel parameters override settings', () => {
    const job = buildJob(DEFAULT_SETTINGS, '/m/model.json', ['/m/a.png'], ['ig'], 3, { steps: 200, baseline: 'blur', rule: 'bogus' });
    expect('preprocess' in job).toBe(false);
    expect(job.target).toBe(3);
    expect(job.options).toEqual({
      steps: 200,
      baseline: 'blur',
      seed: 0,
      methodOverrides: { ig: { steps: 200, rule: 'adaptive', tolerance: 0.01, mapTolerance: 0.02, baseline: 'blur' } },
    });
  });

  it('ignores a non-integer steps override', () => {
    expect(buildJob(DEFAULT_SETTINGS, 'm', ['a'], ['ig'], 'top', { steps: 2.5 }).options.methodOverrides!.ig!.steps).toBe(50);
  });
});

describe('helpers', () => {
  it('tells named baselines from files', () => {
    expect(isBaselineFile('zero')).toBe(false);
    expect(isBaselineFile('blur')).toBe(false);
    expect(isBaselineFile('baselines/gray.png')).toBe(true);
  });

  it('restarts the worker only for backend-related settings', () => {
    expect(workerKey({ ...DEFAULT_SETTINGS, igSteps: 7 })).toBe(workerKey(DEFAULT_SETTINGS));
    expect(workerKey({ ...DEFAULT_SETTINGS, backend: 'cpu' })).not.toBe(workerKey(DEFAULT_SETTINGS));
    expect(workerKey({ ...DEFAULT_SETTINGS, tfjsNodePath: '/x' })).not.toBe(workerKey(DEFAULT_SETTINGS));
  });
});
