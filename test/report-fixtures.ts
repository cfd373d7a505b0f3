import type { ExplainResult, PreparedInput } from '../src/core/types';

/** Small synthetic ExplainResult: one 4x4x3 image input and one tabular input. */
export function fixture(imagePath = '/data/imgs/cat.png'): { result: ExplainResult; inputs: PreparedInput[] } {
  const attr = new Float32Array(4 * 4 * 3);
  attr[(1 * 4 + 2) * 3 + 0] = 5; // strong pixel at (y=1, x=2)
  attr[(3 * 4 + 0) * 3 + 1] = -1;
  attr[0] = Number.NaN;
  const display = { width: 4, height: 4, rgba: new Uint8Array(64).fill(100) };
  const inputs: PreparedInput[] = [
    { path: imagePath, kind: 'image', shape: [4, 4, 3], data: new Float32Array(48), display, range: [0, 1] },
    { path: '/data/t.csv#row2', kind: 'tabular', shape: [3], data: Float32Array.of(1, 2, 3), featureNames: ['age', 'income <$>', 'score'] },
  ];
  const result: ExplainResult = {
    model: {
      path: '/models/m/model.json',
      format: 'layers-model',
      inputs: [{ name: 'in', shape: [null, 4, 4, 3], dtype: 'float32' }],
      outputs: [{ name: 'out', shape: [null, 3], dtype: 'float32' }],
      layers: [],
      totalParams: 1234,
      finalActivation: 'softmax',
      labels: ['cat', 'dog', 'fish'],
      labelsSource: 'metadata.json',
      weightBytes: 4936,
    },
    backend: 'cpu',
    preprocessing: { name: 'unit', mean: [0], std: [255], source: 'default' },
    inputs: [
      {
        path: imagePath,
        prediction: {
          index: 0,
          score: 0.9,
          top: [
            { index: 0, score: 0.9 },
            { index: 1, score: 0.07 },
            { index: 2, score: 0.03 },
          ],
        },
        target: { index: 0, output: 'probability', score: 0.9 },
        results: [
          {
            method: 'ig',
            params: { steps: 32, baseline: 'zero', rule: 'gauss-legendre' },
            attribution: { shape: [4, 4, 3], data: attr },
            completeness: { sum: 0.85, expected: 0.8, delta: 0.05, relative: 0.0625 },
            path: { alpha: [0, 0.5, 1], value: [0.1, 0.6, 0.9], gradNorm: [1, 2, 0.5], cumulativeSum: [0, 0.5, 0.85], expected: 0.8 },
            timing: { ms: 12.5, evaluations: 32 },
          },
          {
            method: 'gradient',
            params: {},
            attribution: { shape: [4, 4, 3], data: attr.slice() },
            completeness: null,
            timing: { ms: 1, evaluations: 1 },
          },
        ],
      },
      {
        path: '/data/t.csv#row2',
        prediction: { index: 2, score: 0.5, top: [{ index: 2, score: 0.5 }] },
        target: { index: 2, output: 'logit', score: 3.2 },
        results: [
          {
            method: 'ig',
            params: { steps: 16 },
            attribution: { shape: [3], data: Float32Array.of(0.5, -1.5, 0.25) },
            completeness: { sum: 1, expected: 0, delta: 1, relative: Number.POSITIVE_INFINITY },
            timing: { ms: 3, evaluations: 16 },
          },
        ],
      },
    ],
  };
  return { result, inputs };
}
