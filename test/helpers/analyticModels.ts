/**
 * Real TF.js model files (model.json + weights.bin) that encode functions with known attributions,
 * written to a temp dir and loaded through PathLens' own loader.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ConstWeight {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  values: number[];
}

export type Node = { name: string; op: string; input?: string[]; attr?: Record<string, unknown> };

const FLOAT = { type: 'DT_FLOAT' };

function writeModel(dir: string, modelJson: object, weights: ConstWeight[]): string {
  fs.mkdirSync(dir, { recursive: true });
  const buffers = weights.map((w) =>
    Buffer.from(w.dtype === 'int32' ? new Int32Array(w.values).buffer : new Float32Array(w.values).buffer),
  );
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat(buffers));
  const manifest = [{ paths: ['weights.bin'], weights: weights.map(({ name, dtype, shape }) => ({ name, dtype, shape })) }];
  const file = path.join(dir, 'model.json');
  fs.writeFileSync(file, JSON.stringify({ ...modelJson, weightsManifest: manifest }));
  return file;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pathlens-${prefix}-`));
}

/** A graph model [B, n] → [B, 1] from GraphDef nodes; constants become manifest weights. */
export function graphModel(name: string, features: number, nodes: Node[], consts: ConstWeight[]): string {
  const placeholder: Node = {
    name: 'x',
    op: 'Placeholder',
    attr: { dtype: FLOAT, shape: { shape: { dim: [{ size: '-1' }, { size: String(features) }] } } },
  };
  const constNodes: Node[] = consts.map((c) => ({
    name: c.name,
    op: 'Const',
    attr: {
      value: {
        tensor: { dtype: c.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: { dim: c.shape.map((s) => ({ size: String(s) })) } },
      },
      dtype: { type: c.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' },
    },
  }));
  return writeModel(
    tempDir(name),
    {
      format: 'graph-model',
      generatedBy: 'pathlens-test',
      modelTopology: { node: [placeholder, ...constNodes, ...nodes], versions: { producer: 1 } },
    },
    consts,
  );
}

export const axis1: ConstWeight = { name: 'axis', dtype: 'int32', shape: [], values: [1] };

/** F = x₁·x₂ (Prod over features). */
export function productModel(): string {
  return graphModel(
    'product',
    2,
    [
      { name: 'prod', op: 'Prod', input: ['x', 'axis'], attr: { keep_dims: { b: true }, T: FLOAT, Tidx: { type: 'DT_INT32' } } },
      { name: 'Identity', op: 'Identity', input: ['prod'], attr: { T: FLOAT } },
    ],
    [axis1],
  );
}

/** F = Σ xᵢ³. */
export function cubeSumModel(features = 3): string {
  return graphModel(
    'cubes',
    features,
    [
      { name: 'cube', op: 'Pow', input: ['x', 'three'], attr: { T: FLOAT } },
      { name: 'sum', op: 'Sum', input: ['cube', 'axis'], attr: { keep_dims: { b: true }, T: FLOAT, Tidx: { type: 'DT_INT32' } } },
      { name: 'Identity', op: 'Identity', input: ['sum'], attr: { T: FLOAT } },
    ],
    [axis1, { name: 'three', dtype: 'float32', shape: [], values: [3] }],
  );
}

/** F = Σ sin xᵢ over any input shape (used for Blur IG's reference test). */
export function sineSumModel(shape: number[]): string {
  const dim = [{ size: '-1' }, ...shape.map((s) => ({ size: String(s) }))];
  const axes: ConstWeight = { name: 'axes', dtype: 'int32', shape: [shape.length], values: shape.map((_, i) => i + 1) };
  const nodes: Node[] = [
    { name: 'x', op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: { dim } } } },
    {
      name: 'axes',
      op: 'Const',
      attr: {
        value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: String(shape.length) }] } } },
        dtype: { type: 'DT_INT32' },
      },
    },
    { name: 'sin', op: 'Sin', input: ['x'], attr: { T: FLOAT } },
    { name: 'sum', op: 'Sum', input: ['sin', 'axes'], attr: { keep_dims: { b: false }, T: FLOAT, Tidx: { type: 'DT_INT32' } } },
    {
      name: 'shape',
      op: 'Const',
      attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: '2' }] } } }, dtype: { type: 'DT_INT32' } },
    },
    { name: 'Identity', op: 'Reshape', input: ['sum', 'shape'], attr: { T: FLOAT } },
  ];
  return writeModel(tempDir('sines'), { format: 'graph-model', modelTopology: { node: nodes, versions: { producer: 1 } } }, [
    axes,
    { name: 'shape', dtype: 'int32', shape: [2], values: [-1, 1] },
  ]);
}

/** A Keras-style Sequential layers model from dense layer specs: kernel [in, out] row-major, bias [out]. */
export function denseModel(
  name: string,
  inputSize: number,
  layers: { units: number; activation: string; kernel: number[]; bias: number[] }[],
): string {
  const config = layers.map((l, i) => ({
    class_name: 'Dense',
    config: {
      name: `dense_${i}`,
      units: l.units,
      activation: l.activation,
      use_bias: true,
      ...(i === 0 ? { batch_input_shape: [null, inputSize] } : {}),
    },
  }));
  const weights: ConstWeight[] = [];
  let fanIn = inputSize;
  layers.forEach((l, i) => {
    weights.push({ name: `dense_${i}/kernel`, dtype: 'float32', shape: [fanIn, l.units], values: l.kernel });
    weights.push({ name: `dense_${i}/bias`, dtype: 'float32', shape: [l.units], values: l.bias });
    fanIn = l.units;
  });
  return writeModel(
    tempDir(name),
    { format: 'layers-model', generatedBy: 'pathlens-test', modelTopology: { class_name: 'Sequential', config: { name, layers: config } } },
    weights,
  );
}

/** F = sigmoid(wᵀx) (explain with output 'probability'). */
export function sigmoidModel(w: number[]): string {
  return denseModel('sigmoid', w.length, [{ units: 1, activation: 'sigmoid', kernel: w, bias: [0] }]);
}

/** F = 1 − ReLU(1 − x₁ − x₂): Dense(−w, bias 1, relu) → Dense(−1, bias 1). */
export function reluSaturationModel(): string {
  return denseModel('relu-saturation', 2, [
    { units: 1, activation: 'relu', kernel: [-1, -1], bias: [1] },
    { units: 1, activation: 'linear', kernel: [-1], bias: [1] },
  ]);
}

/** F = wᵀx + b. */
export function linearModel(w: number[], b = 0): string {
  return denseModel('linear', w.length, [{ units: 1, activation: 'linear', kernel: w, bias: [b] }]);
}

const wConst = (w: number[]): ConstWeight => ({ name: 'w', dtype: 'float32', shape: [1, w.length], values: w });

/** F = Σ wᵢ xᵢ² (Guided IG reference test: w = (2, 1)). */
export function weightedSquaresModel(w: number[]): string {
  return graphModel(
    'weighted-squares',
    w.length,
    [
      { name: 'sq', op: 'Square', input: ['x'], attr: { T: FLOAT } },
      { name: 'mul', op: 'Mul', input: ['sq', 'w'], attr: { T: FLOAT } },
      { name: 'sum', op: 'Sum', input: ['mul', 'axis'], attr: { keep_dims: { b: true }, T: FLOAT, Tidx: { type: 'DT_INT32' } } },
      { name: 'Identity', op: 'Identity', input: ['sum'], attr: { T: FLOAT } },
    ],
    [axis1, wConst(w)],
  );
}

/** F = (wᵀx)² (Guided IG reference test: w = (2, 1)). */
export function squaredLinearModel(w: number[]): string {
  return graphModel(
    'squared-linear',
    w.length,
    [
      { name: 'mul', op: 'Mul', input: ['x', 'w'], attr: { T: FLOAT } },
      { name: 'sum', op: 'Sum', input: ['mul', 'axis'], attr: { keep_dims: { b: true }, T: FLOAT, Tidx: { type: 'DT_INT32' } } },
      { name: 'Identity', op: 'Square', input: ['sum'], attr: { T: FLOAT } },
    ],
    [axis1, wConst(w)],
  );
}

/** One layer of `sequentialModel`: a Keras class name, its (snake_case) config and its weights in order. */
export interface LayerSpec {
  className: string;
  config: Record<string, unknown> & { name: string };
  weights?: { name: string; shape: number[]; values: number[] }[];
}

/**
 * A Keras-style Sequential layers model of any layers (Conv2D, BatchNormalization, pooling, LSTM, …);
 * weight names are `<layer>/<weight>` as the converter writes them.
 */
export function sequentialModel(name: string, inputShape: number[], layers: LayerSpec[]): string {
  const config = layers.map((l, i) => ({
    class_name: l.className,
    config: { ...l.config, ...(i === 0 ? { batch_input_shape: [null, ...inputShape] } : {}) },
  }));
  const weights: ConstWeight[] = layers.flatMap((l) =>
    (l.weights ?? []).map((w) => ({ name: `${l.config.name}/${w.name}`, dtype: 'float32' as const, shape: w.shape, values: w.values })),
  );
  return writeModel(
    tempDir(name),
    { format: 'layers-model', generatedBy: 'pathlens-test', modelTopology: { class_name: 'Sequential', config: { name, layers: config } } },
    weights,
  );
}
