/**
 * Shared data shapes of the attribution core. Everything here is plain data (JSON-serialisable apart
 * from typed arrays) so it can cross worker and webview boundaries unchanged.
 */

/** Which scalar of the model is explained. */
export type OutputKind = 'logit' | 'probability';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;

export type QuadratureRuleName = 'gauss-legendre' | 'riemann-left' | 'riemann-right' | 'riemann-middle' | 'trapezoid';

/** Named baselines; anything else is a path to a `.json` tensor or an image file. */
export const NAMED_BASELINES = ['zero', 'black', 'white', 'uniform', 'gaussian', 'blur'] as const;
export type NamedBaseline = (typeof NAMED_BASELINES)[number];
export type BaselineSpec = NamedBaseline | { file: string };

export type PreprocessName = 'unit' | 'signed' | 'raw255' | 'imagenet' | 'mean-std';

/**
 * Image preprocessing, always expressed as `x = (pixel - mean[c]) / std[c]` with pixel in 0..255,
 * so every preset and a custom mean/std share one formula.
 */
export interface Preprocessing {
  name: PreprocessName;
  mean: number[];
  std: number[];
  /** Where the choice came from, stated in every report. */
  source: 'explicit' | 'sidecar' | 'detected' | 'default';
  /** Why a detected choice was made (e.g. the model's own Rescaling layer), for reports. */
  reason?: string;
}

export interface TensorInfo {
  name: string;
  /** Full shape including the batch dimension (null = unknown size). */
  shape: (number | null)[];
  dtype: string;
}

export interface LayerInfo {
  name: string;
  className: string;
  outputShape: (number | null)[] | null;
  params: number;
}

export interface ModelSummary {
  path: string;
  format: 'layers-model' | 'graph-model' | 'onnx';
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  layers: LayerInfo[];
  totalParams: number;
  /** Activation applied by the final layer/op, if any (softmax, sigmoid, …). */
  finalActivation: string | null;
  labels: string[] | null;
  labelsSource: string | null;
  weightBytes: number;
  /** A preprocessing layer the model starts with (Rescaling, Normalization), which decides its input space. */
  inputPreprocessingLayer?: string;
  /** Where the model came from when it was not a model.json (e.g. "Keras 3.9.2 .keras file"), with notes. */
  source?: string;
  /** A preset the model's input convention suggests when no flag or sidecar chooses (torchvision-like ONNX → imagenet), with why. */
  suggestedPreprocessing?: { name: 'imagenet'; reason: string };
  /** ONNX files: what `info`, the model view and reports show beyond the layer list. */
  onnx?: OnnxSummary;
}

/** An ONNX file as `info` describes it. */
export interface OnnxSummary {
  irVersion: number;
  producer: string;
  /** Opset imports, the default domain written as 'ai.onnx'. */
  opsets: Record<string, number>;
  /** Declared dims: numbers, symbolic names, or null when unnamed. */
  input: { name: string; dims: (number | string | null)[]; elementType: string; layout: 'NCHW' | 'NHWC' | 'other' };
  output: { name: string; dims: (number | string | null)[] };
  /** How many nodes of each op type the file holds (before load-time folding). */
  ops: Record<string, number>;
  nodes: number;
  initializers: number;
  foldedBatchNorms: number;
  /** Nodes computed once at load (shape arithmetic, constants). */
  foldedNodes: number;
  /** External data files named by the initializers (relative to the model's folder). */
  externalData: string[];
  /** How PathLens feeds the input: layout conversion and symbolic dims. */
  inputNote: string;
}

/** One model input, ready to feed: data in the model's input space (after preprocessing). */
export interface PreparedInput {
  /** File the input came from; for CSV rows, `file.csv#row3`. */
  path: string;
  kind: 'image' | 'tensor' | 'tabular';
  /** Per-example shape (no batch dimension), equal to the model's input shape. */
  shape: number[];
  data: Float32Array;
  /** The image as the model sees it (after resize, before normalisation), for overlays. */
  display?: { width: number; height: number; rgba: Uint8Array };
  /** Valid value range in model input space (images: the preprocessed 0 and 255). */
  range?: [number, number];
  featureNames?: string[];
}

export interface Prediction {
  index: number;
  score: number;
  label?: string;
  top: { index: number; score: number; label?: string }[];
}

export interface Target {
  index: number;
  label?: string;
  output: OutputKind;
  /** F(x): the explained scalar at the input. */
  score: number;
}

/**
 * The map's own estimated error: mapError ≈ ‖A − A*‖₁ / ‖A*‖₁, where A* is the exact integral of the
 * same method, path and baseline. `basis` says how it was estimated; `converged` is false when a
 * refinement stopped at its cap before reaching its tolerance.
 */
export interface MapAccuracy {
  mapError: number;
  converged: boolean;
  basis: string;
  /** Estimated map error after each refinement round (adaptive rules), with the evaluations so far. */
  history?: { evaluations: number; mapError: number }[];
}

export interface Completeness {
  /** Σ attribution. */
  sum: number;
  /** F(x) − F(x'). */
  expected: number;
  /** sum − expected (signed). */
  delta: number;
  /** |delta| / |expected| (Infinity when expected is 0 and delta is not). */
  relative: number;
}

/** How a path method travelled: one entry per path point, in path order. */
export interface PathTrace {
  /** Path parameter per point (α for straight paths, σ for Blur IG, …). */
  alpha: number[];
  /** F at the path point. */
  value: number[];
  /** ‖∇F‖₂ at the path point. */
  gradNorm: number[];
  /** Σ attribution accumulated up to and including this point. */
  cumulativeSum: number[];
  /** F(x) − F(x'): where cumulativeSum should end. */
  expected: number;
  /** Method-specific extra series (e.g. Guided IG percentile bands). */
  extra?: Record<string, number[]>;
}

export interface MethodResult {
  method: string;
  params: Record<string, unknown>;
  attribution: { shape: number[]; data: Float32Array };
  /** null for methods that are not complete by design. */
  completeness: Completeness | null;
  /** The map's estimated error against the exact integral (path methods); absent where not estimated. */
  accuracy?: MapAccuracy;
  path?: PathTrace;
  timing: { ms: number; evaluations: number };
}

export interface InputResult {
  path: string;
  prediction: Prediction;
  target: Target;
  results: MethodResult[];
  /** Set when this input failed; other inputs still report. */
  error?: string;
}

export interface ExplainResult {
  model: ModelSummary;
  backend: BackendName;
  preprocessing: Preprocessing | null;
  inputs: InputResult[];
}

/** Progress of a long job. */
export interface Progress {
  stage: string;
  done: number;
  total: number;
}

export type ProgressCallback = (p: Progress) => void;

/** Cooperative cancellation, checked between chunks. */
export interface CancellationSignal {
  readonly cancelled: boolean;
}
