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
