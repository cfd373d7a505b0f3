/**
 * The layers are real: the extension host bundle carries no TF.js and stays small, the method catalog
 * it reads is the core's, and the lint rules that keep folders apart fire on a forbidden import.
 */
import * as esbuild from 'esbuild';
import { ESLint } from 'eslint';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeMethods } from '../src/core/methods/catalog';
import { loadMethodCatalog } from '../src/extension/methodCatalog';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const MAX_EXTENSION_BYTES = 300 * 1024;

function built(file: string): string {
  const p = path.join(DIST, file);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run 'npm run build' first (npm test does)`);
  return p;
}

describe('extension host bundle', () => {
  it('dist/extension.js is at most 300 KB and contains no TF.js', () => {
    const file = built('extension.js');
    expect(fs.statSync(file).size).toBeLessThanOrEqual(MAX_EXTENSION_BYTES);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain('@tensorflow/');
    expect(text).not.toMatch(/registerKernel|registerGradient/);
  });

  it('bundles no module of @tensorflow or src/core (esbuild metafile of src/extension/main.ts)', async () => {
    const out = await esbuild.build({
      entryPoints: [path.join(ROOT, 'src/extension/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      metafile: true,
      mainFields: ['module', 'main'],
      external: ['vscode', '@tensorflow/tfjs-node'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.some((i) => i.startsWith('src/extension/'))).toBe(true);
    expect(inputs.filter((i) => i.includes('@tensorflow') || i.startsWith('src/core/'))).toEqual([]);
  });

  it('reads the method catalog the build wrote, equal to the core’s method definitions', () => {
    const catalog = loadMethodCatalog(path.dirname(built('methods.json')));
    expect(catalog.methods).toEqual(JSON.parse(JSON.stringify(describeMethods())));
    expect(catalog.names()).toContain('ig');
    expect(catalog.anyNeeds(['pgig'], 'patterns')).toBe(true);
    expect(catalog.anyNeeds(['expected-gradients'], 'referenceSet')).toBe(true);
  });
});

describe('import rules per folder (eslint no-restricted-imports)', () => {
  const eslint = new ESLint({ cwd: ROOT });
  const restricted = async (file: string, code: string): Promise<string[]> => {
    const [report] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
    return report!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  };

  it.each([
    ['webview/x.ts', "import { METHODS } from '../src/core/methods';"],
    ['webview/x.ts', "import * as tf from '@tensorflow/tfjs-core';"],
    ['src/extension/x.ts', "import { toJsonString } from '../core/report/json';"],
    ['src/extension/x.ts', "import type { ExplainResult } from '../core/types';"],
    ['src/extension/x.ts', "import * as tf from '@tensorflow/tfjs-core';"],
    ['src/worker/client.ts', "import { loadModel } from '../core/model/load';"],
    ['src/core/x.ts', "import * as vscode from 'vscode';"],
    ['src/core/engine/x.ts', "import { HostWorker } from '../../extension/worker';"],
    ['src/shared/x.ts', "import type { LoadedModel } from '../core/model/load';"],
    ['src/shared/x.ts', "import * as fs from 'node:fs';"],
  ])('%s may not: %s', async (file, code) => {
    expect(await restricted(file, code)).toHaveLength(1);
  });

  it.each([
    ['webview/x.ts', "import { formatNumber } from '../src/shared/render';"],
    ['src/extension/x.ts', "import type { ExplainResult } from '../shared/types';"],
    ['src/extension/x.ts', "import { WorkerClient } from '../worker/client';"],
    ['src/core/x.ts', "import { formatNumber } from '../shared/render';"],
  ])('%s may: %s', async (file, code) => {
    expect(await restricted(file, code)).toEqual([]);
  });
});
