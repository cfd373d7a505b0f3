/**
 * Finding and removing a model's final squashing activation in its serialized topology, so the
 * explained logit comes from a twin model that stops before softmax/sigmoid (the loaded model itself
 * is never modified).
 */

export const SQUASHING = new Set(['softmax', 'sigmoid']);

type LayerJson = { class_name: string; config: Record<string, unknown> & { name?: string } };

function containerLayers(layer: LayerJson): LayerJson[] | null {
  if (!['Sequential', 'Model', 'Functional'].includes(layer.class_name)) return null;
  const cfg = layer.config as unknown;
  if (Array.isArray(cfg)) return cfg as LayerJson[]; // Keras 1-style Sequential config
  const layers = (cfg as { layers?: LayerJson[] }).layers;
  return Array.isArray(layers) ? layers : null;
}

/** The layer that produces the model output, descending into nested containers. */
export function findFinalLayer(topology: Record<string, unknown>): LayerJson | null {
  let layer: LayerJson | null = (topology.model_config as LayerJson | undefined) ?? (topology as unknown as LayerJson) ?? null;
  while (layer) {
    const layers = containerLayers(layer);
    if (!layers) return layer;
    if (layer.class_name === 'Sequential' || Array.isArray(layer.config)) {
      layer = layers[layers.length - 1] ?? null;
    } else {
      const outputs: unknown[][] | undefined = (layer.config as { output_layers?: unknown[][] }).output_layers;
      if (!outputs || outputs.length !== 1) return null;
      const name: unknown = outputs[0]?.[0];
      layer = layers.find((l) => (l.config?.name ?? (l as unknown as { name?: string }).name) === name) ?? null;
    }
  }
  return null;
}

/** 'softmax' / 'sigmoid' / other activation name applied by the final layer, or null when linear. */
export function finalActivationOf(layer: LayerJson | null): string | null {
  if (!layer) return null;
  if (layer.class_name === 'Softmax') return 'softmax';
  const activation = layer.config.activation;
  if (typeof activation === 'string' && activation !== 'linear') return activation;
  return null;
}

/** A deep copy of the topology whose final activation is linear (null when there is nothing to strip). */
export function withoutFinalActivation(topology: Record<string, unknown>): Record<string, unknown> | null {
  const copy = structuredClone(topology);
  const layer = findFinalLayer(copy);
  const activation = finalActivationOf(layer);
  if (!layer || !activation || !SQUASHING.has(activation)) return null;
  if (layer.class_name === 'Softmax') {
    layer.class_name = 'Activation';
    layer.config = { name: layer.config.name, trainable: false, activation: 'linear' };
  } else {
    layer.config.activation = 'linear';
  }
  return copy;
}
