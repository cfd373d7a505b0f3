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
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new PathLensError(code, `${file} is not valid JSON (${reason}); the file may be truncated or corrupt`);
  }
}

/** Decodes bytes as UTF-8 and parses them as JSON (see parseJsonText). */
export function parseJsonBytes(bytes: Uint8Array, file: string, code: ErrorCode, maxDepth = MAX_JSON_DEPTH): unknown {
  return parseJsonText(new TextDecoder('utf-8').decode(bytes), file, code, maxDepth);
}
