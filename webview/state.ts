/**
 * The panel's state: everything needed to redraw it after the webview is hidden or reloaded.
 * `applyHostMessage` is a pure reducer; `encodeState` / `decodeState` make the state JSON-safe for
 * `vscode.setState` (typed arrays travel as base64).
 */
import type { BackendName, ModelSummary, MethodResult, Preprocessing, Progress } from '../src/shared/types';
import type { HostToWebview, InputStarted, MethodInfo, WireError } from '../src/shared/protocol';
import { isColormapName } from '../src/shared/colormap';
import { defaultDisplay, toFloat32, toUint8, updateDisplay, type ColormapDefaults, type DisplayOptions } from './display';

export type ParamValue = string | number | boolean;

export interface PanelState {
  version: 1;
  /** Messages of runs older than this are stale (a cancelled or replaced run) and are dropped. */
  runId: number | null;
  model: ModelSummary | null;
  backend: BackendName | null;
  preprocessing: Preprocessing | null;
  methods: MethodInfo[];
  inputCount: number;
  inputs: (InputStarted | null)[];
  /** Keyed by `mapKey(inputIndex, method)`. */
  results: Record<string, MethodResult>;
  inputErrors: Record<number, WireError>;
  runError: WireError | null;
  progress: Progress | null;
  running: boolean;
  cancelled: boolean;
  /** Maps waiting for a recompute / new target. */
  pending: Record<string, true>;
  colormaps: ColormapDefaults;
  ui: {
    linked: boolean;
    shared: DisplayOptions;
    perMap: Record<string, DisplayOptions>;
    /** Parameter values the user typed, per map. */
    params: Record<string, Record<string, ParamValue>>;
    /** Open/closed collapsible sections by id. */
    open: Record<string, boolean>;
  };
}

export const mapKey = (inputIndex: number, method: string): string => `${inputIndex}:${method}`;

export function initialState(): PanelState {
  const colormaps: ColormapDefaults = { colormap: 'inferno', divergingColormap: 'rdbu' };
  return {
    version: 1,
    runId: null,
    model: null,
    backend: null,
    preprocessing: null,
    methods: [],
    inputCount: 0,
    inputs: [],
    results: {},
    inputErrors: {},
    runError: null,
    progress: null,
    running: false,
    cancelled: false,
    pending: {},
    colormaps,
    ui: { linked: true, shared: defaultDisplay(colormaps), perMap: {}, params: {}, open: {} },
  };
}

/** Display options in effect for one map. */
export function displayFor(state: PanelState, key: string): DisplayOptions {
  return (!state.ui.linked && state.ui.perMap[key]) || state.ui.shared;
}

function normalizeInput(input: InputStarted): InputStarted {
  const out: InputStarted = { ...input };
  if (input.display) out.display = { width: input.display.width, height: input.display.height, rgba: toUint8(input.display.rgba) };
  if (input.values !== undefined) out.values = toFloat32(input.values);
  return out;
}

function normalizeResult(result: MethodResult): MethodResult {
  return { ...result, attribution: { shape: [...result.attribution.shape], data: toFloat32(result.attribution.data) } };
}

/** Is this message from a run the panel should still listen to? */
function current(state: PanelState, runId: number): boolean {
  return state.runId === null || runId >= state.runId;
}

export function applyHostMessage(state: PanelState, msg: HostToWebview): PanelState {
  switch (msg.type) {
    case 'run':
      return {
        ...state,
        runId: msg.runId,
        model: msg.model,
        backend: msg.backend,
        preprocessing: msg.preprocessing,
        methods: msg.methods,
        inputCount: msg.inputCount,
        inputs: Array.from({ length: msg.inputCount }, () => null),
        results: {},
        inputErrors: {},
        runError: null,
        progress: null,
        running: true,
        cancelled: false,
        pending: {},
        ui: { ...state.ui, params: {} },
      };
    case 'input': {
      if (!current(state, msg.runId)) return state;
      const inputs = [...state.inputs];
      while (inputs.length <= msg.inputIndex) inputs.push(null);
      const previous = inputs[msg.inputIndex];
      inputs[msg.inputIndex] = normalizeInput(msg.input);
      let results = state.results;
      // A new target makes this input's maps stale: they are replaced as new results arrive.
      if (previous && previous.target.index !== msg.input.target.index) {
        results = Object.fromEntries(Object.entries(results).filter(([k]) => !k.startsWith(`${msg.inputIndex}:`)));
      }
      const inputErrors = { ...state.inputErrors };
      delete inputErrors[msg.inputIndex];
      return { ...state, inputs, results, inputErrors, inputCount: Math.max(state.inputCount, inputs.length) };
    }
    case 'result': {
      if (!current(state, msg.runId)) return state;
      const key = mapKey(msg.inputIndex, msg.result.method);
      const pending = { ...state.pending };
      delete pending[key];
      const params = { ...state.ui.params };
      delete params[key];
      return { ...state, results: { ...state.results, [key]: normalizeResult(msg.result) }, pending, ui: { ...state.ui, params } };
    }
    case 'progress':
      if (!current(state, msg.runId)) return state;
      return { ...state, progress: msg.progress, running: true };
    case 'done':
      if (!current(state, msg.runId)) return state;
      return { ...state, running: false, cancelled: msg.cancelled, progress: null, pending: {} };
    case 'error': {
      if (!current(state, msg.runId)) return state;
      if (msg.inputIndex === undefined) return { ...state, runError: msg.error, running: false, progress: null, pending: {} };
      const pending = Object.fromEntries(Object.entries(state.pending).filter(([k]) => !k.startsWith(`${msg.inputIndex}:`))) as Record<
        string,
        true
      >;
      return { ...state, inputErrors: { ...state.inputErrors, [msg.inputIndex]: msg.error }, pending };
    }
    case 'settings': {
      const colormaps: ColormapDefaults = {
        colormap: isColormapName(msg.colormap) ? msg.colormap : state.colormaps.colormap,
        divergingColormap: isColormapName(msg.divergingColormap) ? msg.divergingColormap : state.colormaps.divergingColormap,
      };
      const signed = state.ui.shared.sign === 'signed';
      const shared = updateDisplay(state.ui.shared, { colormap: signed ? colormaps.divergingColormap : colormaps.colormap }, colormaps);
      return { ...state, colormaps, ui: { ...state.ui, shared } };
    }
    default:
      return state;
  }
}

/** Pure: is this a message the panel understands (the host is trusted, but be robust to versions)? */
export function isHostMessage(data: unknown): data is HostToWebview {
  if (!data || typeof data !== 'object') return false;
  const type = (data as { type?: unknown }).type;
  return (
    type === 'run' ||
    type === 'input' ||
    type === 'result' ||
    type === 'progress' ||
    type === 'done' ||
    type === 'error' ||
    type === 'settings'
  );
}

// --- JSON-safe state ------------------------------------------------------------------------

const TYPED = '__pathlensTyped';

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A deep copy with Float32Array / Uint8Array as `{ __pathlensTyped, b64 }`, and non-finite numbers as strings. */
export function encodeState(state: PanelState): unknown {
  const walk = (v: unknown): unknown => {
    if (v instanceof Float32Array) return { [TYPED]: 'f32', b64: toBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
    if (v instanceof Uint8Array || v instanceof Uint8ClampedArray)
      return { [TYPED]: 'u8', b64: toBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
    if (typeof v === 'number' && !Number.isFinite(v)) return { [TYPED]: 'num', v: String(v) };
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(state);
}

export function decodeState(raw: unknown): PanelState | null {
  if (!raw || typeof raw !== 'object' || (raw as { version?: unknown }).version !== 1) return null;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o[TYPED] === 'f32' && typeof o.b64 === 'string') {
        const bytes = fromBase64(o.b64);
        return new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
      }
      if (o[TYPED] === 'u8' && typeof o.b64 === 'string') return fromBase64(o.b64);
      if (o[TYPED] === 'num') return Number(o.v);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  try {
    const state = walk(raw) as PanelState;
    const fresh = initialState();
    // Older or partial states: fill what is missing; a restored panel is never 'running' (the host
    // that ran it may be gone; a live host sends progress again).
    return { ...fresh, ...state, running: false, progress: null, pending: {}, ui: { ...fresh.ui, ...state.ui } };
  } catch {
    return null;
  }
}
