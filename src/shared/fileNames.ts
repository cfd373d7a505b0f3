/** File names derived from input paths (report files, export defaults); pure string work, no Node. */

/** `dir/cat.png` → `cat`; `dir/data.csv#row3` → `data-row3`; unsafe characters → `_`. */
export function inputStem(path: string): string {
  const base = path.replace(/\\/g, '/').replace(/\/+$/, '').split('/').pop() ?? '';
  const hash = base.indexOf('#');
  const file = hash >= 0 ? base.slice(0, hash) : base;
  const suffix = hash >= 0 ? base.slice(hash + 1) : '';
  const dot = file.lastIndexOf('.');
  const stem = (dot > 0 && !/^\.+$/.test(file) ? file.slice(0, dot) : file) || file;
  return sanitizeFileName(suffix ? `${stem}-${suffix}` : stem);
}

export function sanitizeFileName(name: string): string {
  const s = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[.]+/, '_')
    .slice(0, 100);
  return s || 'input';
}

/** Extensions of Keras model files PathLens opens directly (Keras 3 archive, legacy HDF5). */
export const KERAS_MODEL_EXTENSIONS = ['.keras', '.h5', '.hdf5'] as const;

/** True for a file PathLens opens as a model: a `model.json`, a Keras `.keras` / `.h5` file or an ONNX `.onnx` file. */
export function isModelFileName(file: string): boolean {
  const base = file.replace(/\\/g, '/').split('/').pop() ?? '';
  if (base === 'model.json') return true;
  return isKerasModelFileName(base) || isOnnxModelFileName(base);
}

/** True for an ONNX model file name (`*.onnx`, any case). */
export function isOnnxModelFileName(file: string): boolean {
  return /[^/\\]\.onnx$/i.test(file);
}

/** True for a Keras model file name (by extension only: other formats may join isModelFileName). */
export function isKerasModelFileName(file: string): boolean {
  const base = file.replace(/\\/g, '/').split('/').pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 && (KERAS_MODEL_EXTENSIONS as readonly string[]).includes(base.slice(dot).toLowerCase());
}
