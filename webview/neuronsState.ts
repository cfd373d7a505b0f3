/**
 * The "Neurons" view's state (pure, no DOM): the layers offered, the user's choices, and a reducer
 * over the host's neurons messages. A layer result and a unit view are kept apart so clicking a unit
 * keeps the ranking visible.
 */
import type { LayerChoice, NeuronMethod, NeuronsResult, Region } from '../src/shared/neurons';
import type { HostToWebview, NeuronsRequest, WireError } from '../src/shared/protocol';
import type { Progress } from '../src/shared/types';

export type NeuronsMessage = Extract<
  HostToWebview,
  { type: 'neurons-layers' | 'neurons-start' | 'neurons-progress' | 'neurons-result' | 'neurons-done' }
>;

export interface NeuronsViewState {
  layers: LayerChoice[];
  layer: string | null;
  method: NeuronMethod;
  region: Region | null;
  inputIndex: number;
  /** The request in flight (or last made). */
  pending: { neuronsId: number; request: NeuronsRequest } | null;
  progress: Progress | null;
  ranking: NeuronsResult | null;
  unit: NeuronsResult | null;
  error: WireError | null;
  cancelled: boolean;
}

export function initialNeuronsState(): NeuronsViewState {
  return {
    layers: [],
    layer: null,
    method: 'conductance',
    region: null,
    inputIndex: 0,
    pending: null,
    progress: null,
    ranking: null,
    unit: null,
    error: null,
    cancelled: false,
  };
}

const NEURONS_TYPES = new Set(['neurons-layers', 'neurons-start', 'neurons-progress', 'neurons-result', 'neurons-done']);

export function isNeuronsMessage(data: unknown): data is NeuronsMessage {
  return !!data && typeof data === 'object' && NEURONS_TYPES.has((data as { type?: unknown }).type as string);
}

/** The layer picked by default: the last one with a spatial output (conv features), else the last. */
export function defaultLayer(layers: LayerChoice[]): string | null {
  const spatial = layers.filter((l) => l.shape.length === 3);
  return (spatial.at(-1) ?? layers.at(-1))?.name ?? null;
}

export function applyNeuronsMessage(state: NeuronsViewState, msg: NeuronsMessage): NeuronsViewState {
  switch (msg.type) {
    case 'neurons-layers': {
      const keep = state.layer !== null && msg.layers.some((l) => l.name === state.layer);
      return { ...initialNeuronsState(), layers: msg.layers, layer: keep ? state.layer : defaultLayer(msg.layers), method: state.method };
    }
    case 'neurons-start':
      return { ...state, pending: { neuronsId: msg.neuronsId, request: msg.request }, progress: null, error: null, cancelled: false };
    case 'neurons-progress':
      return state.pending?.neuronsId === msg.neuronsId ? { ...state, progress: msg.progress } : state;
    case 'neurons-result': {
      if (state.pending?.neuronsId !== msg.neuronsId) return state;
      if (msg.result.unit) return { ...state, unit: msg.result };
      // A new ranking replaces the unit view, which belonged to the previous layer or region.
      return { ...state, ranking: msg.result, unit: null };
    }
    case 'neurons-done':
      if (state.pending?.neuronsId !== msg.neuronsId) return state;
      return { ...state, pending: null, progress: null, cancelled: msg.cancelled, error: msg.error ?? null };
  }
}

/** The request for the current choices (a ranking; with a region, conductance restricted to it). */
export function rankingRequest(state: NeuronsViewState): NeuronsRequest | null {
  if (!state.layer) return null;
  const method = state.region ? 'conductance' : state.method;
  return { inputIndex: state.inputIndex, layer: state.layer, method, ...(state.region ? { region: state.region } : {}) };
}

/** The request for one unit of the shown ranking. */
export function unitRequest(state: NeuronsViewState, unit: number[]): NeuronsRequest | null {
  const ranking = state.ranking?.result;
  if (!ranking) return null;
  return { inputIndex: state.inputIndex, layer: ranking.layer, method: 'conductance', unit };
}
