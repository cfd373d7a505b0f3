/**
 * The resource limits PathLens enforces on untrusted files and flags, in one place. Each value says
 * why it is what it is; loaders, the CLI and the extension read them from here.
 */

/** The limits shared with the extension's settings (memory budget, fixed-rule steps, worker threads). */
export { DEFAULT_MEMORY_BUDGET_MB, MAX_MEMORY_BUDGET_MB, MAX_STEPS, MAX_WORKERS, MIN_MEMORY_BUDGET_MB } from '../../shared/limits';

/**
 * Gradient evaluations one attribution map may ask for (steps × samples × baselines, adaptive
 * refinement). 65 536 is 16 times the largest fixed rule — a SmoothGrad of 16 IG maps at full
 * resolution — and about an hour on a MobileNet-size model on one CPU core; beyond that a run is a
 * mistake (or a hostile flag), not a measurement.
 */
export const MAX_EVALUATIONS = 65536;

/**
 * Nesting depth of any JSON file PathLens reads. Tensors have rank ≤ 6 (+ batch), Keras topologies
 * with nested models reach ≈ 20; 100 leaves room for odd exporters while keeping every recursive walk
 * (shape checks, flattening, schema validation) far from the ≈ 10 000-frame JS stack limit.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Largest JSON/CSV/sidecar file read whole into memory (bytes). model.json topologies of large
 * Keras models are a few MB; 256 MB is a 64M-value tensor as text, far above any real input.
 */
export const MAX_TEXT_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Pixels of a decoded image (width × height). 64 megapixels (8000 × 8000) is above any camera or
 * dataset image people explain; the RGBA buffer is 256 MB. Larger headers are decompression bombs.
 */
export const MAX_IMAGE_PIXELS = 64 * 1024 * 1024;

/**
 * Encoded image files read whole (bytes). 64 MB holds a 64-megapixel PNG of noise, the worst case
 * under MAX_IMAGE_PIXELS.
 */
export const MAX_IMAGE_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Total weight bytes of a model (all shards). 4 GB is more than the float32 weights of any model a
 * CPU can attribute within a session (ViT-L is 1.2 GB), and stays below V8's ArrayBuffer limit.
 */
export const MAX_WEIGHT_BYTES = 4 * 1024 * 1024 * 1024;

/** Files taken from one input folder: a folder of 10 000 images is already hours of attribution. */
export const MAX_INPUT_FILES = 10000;

/** Bytes per MB, for messages and budget arithmetic. */
export const MB = 1024 * 1024;
