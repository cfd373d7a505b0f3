/**
 * ONNX's own node tests (Debian libonnx-testdata): every test whose op types PathLens maps runs through
 * the importer and must reproduce the reference outputs; the deliberately excluded ones must fail with
 * a clear PathLensError (never a wrong number).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/engine/backend';
import { PathLensError } from '../src/core/errors';
import { ONNX_OPS } from '../src/core/model/onnx/ops';
import { decodeTensor } from '../src/core/model/onnx/proto';
import { listNodeTests, NODE_TEST_ROOT, runNodeTest } from './helpers/onnxNodeTests';

/** Node tests of mapped op types that PathLens refuses on purpose, with the reason. */
const EXCLUDED: Record<string, string> = {
  ...Object.fromEntries(
    ['default_axis', 'keepdims', 'negative_axis_keepdims', 'no_keepdims'].flatMap((v) =>
      ['argmax', 'argmin'].flatMap((op) =>
        ['example', 'random'].map((k) => [`test_${op}_${v}_${k}_select_last_index`, 'select_last_index=1 (not needed for attribution)']),
      ),
    ),
  ),
  test_maxpool_2d_dilations: 'dilated pooling',
  test_maxpool_with_argmax_2d_precomputed_pads: 'the Indices output of MaxPool',
  test_maxpool_with_argmax_2d_precomputed_strides: 'storage_order=1 / the Indices output of MaxPool',
  test_batchnorm_epsilon_training_mode: 'BatchNormalization in training mode',
  test_batchnorm_example_training_mode: 'BatchNormalization in training mode',
  test_training_dropout: 'random dropout (training_mode=true)',
  test_training_dropout_default: 'random dropout (training_mode=true)',
  test_training_dropout_default_mask: 'random dropout (training_mode=true)',
  test_training_dropout_mask: 'random dropout (training_mode=true)',
  test_cast_FLOAT_to_BFLOAT16: 'bfloat16 outputs (TF.js has no bfloat16)',
  test_castlike_FLOAT_to_BFLOAT16_expanded: 'bfloat16 outputs (TF.js has no bfloat16)',
  test_cast_FLOAT_to_STRING: 'string tensors',
  test_cast_STRING_to_FLOAT: 'string tensors',
  test_castlike_FLOAT_to_STRING_expanded: 'string tensors',
  test_castlike_STRING_to_FLOAT_expanded: 'string tensors',
  test_identity_opt: 'optional-typed values',
  test_identity_sequence: 'sequence-typed values',
  test_max_uint64: 'uint64 tensors',
  test_min_uint64: 'uint64 tensors',
  test_pow_types_float32_uint64: 'uint64 tensors',
};

/** Tests whose stored data contradicts their model: the BFLOAT16 input is stored as UINT16 (type 4) bits. */
const DATA_QUIRKS = ['test_cast_BFLOAT16_to_FLOAT', 'test_castlike_BFLOAT16_to_FLOAT_expanded'];

function maxMismatch(got: tf.Tensor, want: { dims: number[]; data: ArrayLike<number> }): string | null {
  if (JSON.stringify(got.shape) !== JSON.stringify(want.dims)) return `shape [${got.shape}] vs [${want.dims}]`;
  const g = got.dataSync();
  for (let i = 0; i < g.length; i++) {
    const a = Number(g[i]);
    const w = Number(want.data[i]);
    if (Number.isNaN(w) && Number.isNaN(a)) continue;
    if (a === w) continue;
    if (!(Math.abs(a - w) <= 1e-4 + 1e-3 * Math.abs(w))) return `element ${i}: ${a} vs ${w}`;
  }
  return null;
}

const ALL = fs.existsSync(NODE_TEST_ROOT) ? listNodeTests() : [];
const MAPPED = ALL.filter((c) => c.opTypes.every((op) => ONNX_OPS.has(op)));

// Both backends: the product runs on wasm, whose kernels take fewer dtypes and never check them.
describe.each(['cpu', 'wasm'] as const)('ONNX node tests (libonnx-testdata) on %s', (backend) => {
  beforeAll(async () => {
    expect(await initBackend(backend)).toBe(backend);
  });

  it('the test data is installed (apt-get install libonnx-testdata)', () => {
    expect(ALL.length).toBeGreaterThan(500);
    expect(MAPPED.length).toBeGreaterThan(400);
    for (const name of Object.keys(EXCLUDED)) expect(MAPPED.map((c) => c.name)).toContain(name);
  });

  it.each(DATA_QUIRKS)('%s stores its bfloat16 input as UINT16 (not run)', (name) => {
    const input = decodeTensor(fs.readFileSync(`${NODE_TEST_ROOT}/${name}/test_data_set_0/input_0.pb`), name);
    expect(input.dataType).toBe(4);
  });

  it.each(MAPPED.filter((c) => !(c.name in EXCLUDED) && !DATA_QUIRKS.includes(c.name)).map((c) => [c.name, c] as const))(
    '%s',
    (_name, c) => {
      tf.tidy(() => {
        for (const { got, want, name } of runNodeTest(c.dir)) {
          expect(maxMismatch(got, want), `${c.name} output '${name}'`).toBeNull();
        }
      });
    },
  );

  it.each(Object.entries(EXCLUDED))('%s is refused clearly (%s)', (name) => {
    expect(() => tf.tidy(() => runNodeTest(`${NODE_TEST_ROOT}/${name}`).forEach(({ got }) => got.dataSync()))).toThrow(PathLensError);
  });
});
