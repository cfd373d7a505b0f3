/**
 * Internal-neuron attribution results as they travel (worker → CLI, host, webview) and are saved:
 * JSON conventions of `pathlens neurons` (row-major, channels fastest; NHWC unit indices).
 */
import type { Completeness, MethodResult, Prediction, QuadratureRuleName, Target } from './types';

export const NEURON_METHODS = ['conductance', 'layer-ig'] as const;
export type NeuronMethod = (typeof NEURON_METHODS)[number];

/** A rectangle of input pixels: x = column, y = row, inclusive-exclusive, all channels. */
export interface Region {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface RankedUnit {
  /** [row, col, channel] for a conv layer, [k] for a dense one: the unravelled flat index. */
  index: number[];
  value: number;
}

export interface LayerAttribution {
  layer: string;
  method: NeuronMethod;
  /** Activation shape without batch, e.g. [14, 14, 8] or [200]. */
  shape: number[];
  attribution: { data: number[] };
  /** Σ over units against F(x) − F(x′), or against the region's IG sum with a region. */
  completeness: Completeness;
  top: RankedUnit[];
  region?: Region;
  /** jvp: how dh/dα was computed (exact double backward, or a central difference where ops lack it). */
  params: { steps: number; rule: QuadratureRuleName; baseline: string; jvp?: 'double-backward' | 'central-difference' };
  timing: { ms: number; evaluations: number };
}

/** A layer the neuron views can split the model at. */
export interface LayerChoice {
  name: string;
  className: string;
  shape: number[];
}

/** What one unit looks at: its input map, and (conv layers) its channel's activation map at x. */
export interface UnitView {
  layer: string;
  index: number[];
  map: MethodResult;
  /** The unit's channel h[:, :, c] at the input, for layers with a spatial [H, W, C] output. */
  activation: { shape: [number, number]; data: number[] } | null;
}

export interface NeuronsResult {
  modelPath: string;
  input: string;
  prediction: Prediction;
  target: Target;
  /** The layer's units ranked (absent when only a unit was asked for). */
  result?: LayerAttribution;
  unit?: UnitView;
}
