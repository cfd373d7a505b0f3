/**
 * What an imported ONNX graph exposes beyond `LoadedModel`: the node list (for `info` and sanity
 * checks), the opsets, the input layout, and a way to rebuild the model with replaced initializers
 * (sanity randomization). No TF.js types here, so host code may import them.
 */

/** Element types PathLens reads from ONNX initializers and tensors (int64 is narrowed to int32). */
export type OnnxDtype = 'float32' | 'int32' | 'bool';

/** One initializer (a stored constant tensor), as declared in the file. */
export interface OnnxInitializerInfo {
  name: string;
  dims: number[];
  /** The element type of the file (`FLOAT`, `FLOAT16`, `INT64`, …). */
  fileType: string;
  /** Where its bytes came from: inline in the model, or an external data file (relative location). */
  storage: 'inline' | { location: string; offset: number; length: number };
}

/** One node of the graph after load-time rewrites (BatchNormalization folded into Conv). */
export interface OnnxNodeInfo {
  name: string;
  opType: string;
  /** Opset version of the node's domain (ai.onnx) that decides its semantics. */
  opset: number;
  inputs: string[];
  outputs: string[];
  /** Names of the inputs that are initializers (weights, biases, constant shapes …). */
  initializers: string[];
  /** Output shapes for a batch of one (null where not computed, e.g. an unused output). */
  outputShapes: (number[] | null)[];
  /** True when the node depends only on constants (and the input's shape) and is computed once at load. */
  folded: boolean;
  /** Names of BatchNormalization nodes folded into this Conv. */
  foldedBatchNorm?: string;
}

export type OnnxLayout = 'NCHW' | 'NHWC' | 'other';

export interface OnnxInputInfo {
  name: string;
  /** Declared dims: numbers, or the symbolic name (`batch`, `N`, …) / null when unnamed. */
  declaredDims: (number | string | null)[];
  /** Per-example shape PathLens feeds (symbolic non-batch dims bound). */
  shape: number[];
  /** NCHW when the input is [N, C, H, W] with C ∈ {1, 3, 4} and H, W > 4; NHWC likewise; else other. */
  layout: OnnxLayout;
}

export interface OnnxModelDetails {
  irVersion: number;
  producer: string;
  /** Opset imports, domain '' written as 'ai.onnx'. */
  opsets: Record<string, number>;
  input: OnnxInputInfo;
  outputName: string;
  nodes: OnnxNodeInfo[];
  initializers: OnnxInitializerInfo[];
  /** How many BatchNormalization nodes were folded into a preceding Conv. */
  foldedBatchNorms: number;
}

/** Replacement values for initializers, by name, in the file's element order (row-major, float32). */
export type InitializerValues = ReadonlyMap<string, Float32Array>;
