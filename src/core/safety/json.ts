/**
 * Parsing untrusted JSON: a depth check before JSON.parse (a file nested 100 000 deep would overflow
 * every recursive walk after it), a size check, and a one-line error naming the file.
 */
import { PathLensError, type ErrorCode } from '../errors';
import { MAX_JSON_DEPTH } from './limits';

/** Deepest array/object nesting of JSON text, scanning once and skipping string contents. */
export function jsonNestingDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
      continue;
    }
    if (ch === 34) inString = true;
    else if (ch === 91 /* [ */ || ch === 123 /* { */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (ch === 93 /* ] */ || ch === 125 /* } */) depth--;
  }
  return deepest;
}

/** JSON.parse with the nesting limit; errors name `file` and use `code`. */
export function parseJsonText(text: string, file: string, code: ErrorCode, maxDepth = MAX_JSON_DEPTH): unknown {
  const depth = jsonNestingDepth(text, maxDepth);
  if (depth > maxDepth) {
    throw new PathLensError('limit', `${file} nests arrays/objects more than ${maxDepth} levels deep; refused`);
  }
  const binary = binaryKind(text);
  if (binary) throw new PathLensError(code, `${file} is not valid JSON: it is a binary file (${binary})`);
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new PathLensError(code, `${file} is not valid JSON (${printable(err)}); the file may be truncated or corrupt`);
  }
}

/** What a binary file given as JSON probably is, or null for text. */
function binaryKind(text: string): string | null {
  if (text.startsWith('\uFFFDHDF') || text.startsWith('\x89HDF')) return 'HDF5 — a Keras .h5 model? Convert it with tensorflowjs_converter';
  if (text.startsWith('\uFFFDPNG') || text.startsWith('\uFFFD\uFFFD\uFFFD')) return 'an image?';
  if (text.startsWith('PK\x03\x04')) return 'a zip archive — a .keras model? Convert it with tensorflowjs_converter';
  return text.slice(0, 4096).includes('\0') ? 'it holds NUL bytes' : null;
}

/** A parser message on one line, without the raw bytes it quotes. */
function printable(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cut = message.replace(/, "[\s\S]*" is not valid JSON$/, '');
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\uFFFD]/g, '?').slice(0, 160);
}

/** Decodes bytes as UTF-8 and parses them as JSON (see parseJsonText). */
export function parseJsonBytes(bytes: Uint8Array, file: string, code: ErrorCode, maxDepth = MAX_JSON_DEPTH): unknown {
  return parseJsonText(new TextDecoder('utf-8').decode(bytes), file, code, maxDepth);
}
