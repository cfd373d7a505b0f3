/**
 * The one typed protocol for messages between the extension host (or CLI), the attribution worker
 * and the webview. Everything here is structured-clone safe (typed arrays pass as they are).
 */
import type {
  BackendChoice,
  BackendName,
  ExplainResult,
  InputResult,
  MethodResult,
  ModelSummary,
  OutputKind,
  PreparedInput,
  Preprocessing,
  Progress,
  QuadratureRuleName,
} from './core/types';
import type { ErrorCode } from './core/errors';

// ---------------------------------------------------------------------------------------------
// Host → worker

/** Method options as they travel: baseline is a name or a file path. */
export interface JobMethodOptions {
  steps?: number;
  rule?: QuadratureRuleName;
  baseline?: string;
  seed?: number;
  [extra: string]: unknown;
}

export interface ExplainJob {
  modelPath: string;
  /** Files or folders (folders expand to their images / .json / .csv files). */
  inputs: string[];
  methods: string[];
  target: 'top' | number;
  output: OutputKind;
  /** Preset name or `mean-std:…`; omitted = sidecar / detection / default. */
  preprocess?: string;
  options: JobMethodOptions;
  memoryBudgetMB?: number;
  /** At most this many rows per CSV (keeps a huge table from flooding a report). */
  maxRows?: number;
}

export type WorkerRequest =
  | { kind: 'explain'; jobId: number; job: ExplainJob; cancelFlag?: SharedArrayBuffer }
  | { kind: 'info'; jobId: number; modelPath: string; cancelFlag?: SharedArrayBuffer }
  | { kind: 'cancel'; jobId: number };

export interface WorkerInit {
  backend: BackendChoice;
  wasmDir?: string;
}

// ---------------------------------------------------------------------------------------------
// Worker → host

/** An input as the UI needs it before any attribution exists: prediction, target, the image. */
export interface InputStarted extends Omit<InputResult, 'results'> {
  kind: PreparedInput['kind'];
  shape: number[];
  display?: PreparedInput['display'];
  featureNames?: string[];
  values?: Float32Array;
}

export type WorkerEvent =
  | { kind: 'ready'; backend: BackendName }
  | { kind: 'fatal'; error: WireError }
  | { kind: 'progress'; jobId: number; progress: Progress }
  | { kind: 'started'; jobId: number; model: ModelSummary; backend: BackendName; preprocessing: Preprocessing | null; inputCount: number }
  | { kind: 'input'; jobId: number; inputIndex: number; input: InputStarted }
  | { kind: 'result'; jobId: number; inputIndex: number; result: MethodResult }
  | { kind: 'explained'; jobId: number; result: ExplainResult }
  | { kind: 'info'; jobId: number; summary: ModelSummary; preprocessing: Preprocessing | null }
  | { kind: 'error'; jobId: number; error: WireError };

export interface WireError {
  code: ErrorCode;
  message: string;
  stack?: string;
}
