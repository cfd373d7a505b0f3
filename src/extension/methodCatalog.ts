/**
 * The method catalog the build writes beside the bundles (dist/methods.json, from the core's method
 * definitions): the host gets names, titles and parameters as data and never loads TF.js.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseMethodCatalog, type MethodCatalog } from '../shared/methods';

const METHOD_CATALOG_FILE = 'methods.json';

export function loadMethodCatalog(distDir: string): MethodCatalog {
  const file = path.join(distDir, METHOD_CATALOG_FILE);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(
      `cannot read the method catalog ${file} (${err instanceof Error ? err.message : String(err)}); rebuild with npm run build`,
      { cause: err },
    );
  }
  return parseMethodCatalog(json);
}
