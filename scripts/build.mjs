// Bundles the extension, the attribution worker, the CLI, the benchmark and the webview with esbuild,
// and copies the TF.js wasm binaries next to the bundles (they ship inside the VSIX).
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const nodeCommon = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  // tfjs deep imports (register_all_gradients, chained ops) are ES modules: resolve the packages'
  // ES builds too, so the bundle holds exactly one tfjs-core instance.
  mainFields: ['module', 'main'],
  external: ['vscode', '@tensorflow/tfjs-node'],
  logLevel: 'warning',
};

const nodeEntries = [
  { in: 'src/extension/main.ts', out: 'extension' },
  { in: 'src/worker/main.ts', out: 'worker' },
  { in: 'src/cli/main.ts', out: 'cli', banner: '#!/usr/bin/env node' },
  { in: 'bench/main.ts', out: 'bench' },
].filter((e) => fs.existsSync(path.join(root, e.in)));

const builds = nodeEntries.map((e) => ({
  ...nodeCommon,
  entryPoints: [path.join(root, e.in)],
  outfile: path.join(dist, `${e.out}.js`),
  banner: e.banner ? { js: e.banner } : undefined,
}));

const webviewEntry = path.join(root, 'webview/main.ts');
if (fs.existsSync(webviewEntry)) {
  builds.push({
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: !production,
    minify: production,
    entryPoints: [webviewEntry],
    outfile: path.join(dist, 'webview', 'main.js'),
    loader: { '.css': 'text' },
    logLevel: 'warning',
  });
}
// The panel's stylesheet (with uPlot's CSS inlined by @import) as a file: the CSP allows styles from
// the extension only, so no inline <style>.
const webviewCss = path.join(root, 'webview/main.css');
if (fs.existsSync(webviewCss)) {
  builds.push({
    bundle: true,
    entryPoints: [webviewCss],
    outfile: path.join(dist, 'webview', 'main.css'),
    minify: production,
    logLevel: 'warning',
  });
}

fs.mkdirSync(dist, { recursive: true });
const wasmDir = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
for (const file of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) {
  fs.copyFileSync(path.join(wasmDir, file), path.join(dist, file));
}

// The extension host reads the methods as data (dist/methods.json) instead of bundling their code
// and TF.js: run the core's catalog once and keep its JSON beside the bundles.
async function writeMethodCatalog() {
  const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pathlens-catalog-')), 'catalog.cjs');
  await esbuild.build({
    ...nodeCommon,
    sourcemap: false,
    minify: false,
    entryPoints: [path.join(root, 'scripts/method-catalog.ts')],
    outfile: script,
  });
  try {
    execFileSync(process.execPath, [script, path.join(dist, 'methods.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
  } finally {
    fs.rmSync(path.dirname(script), { recursive: true, force: true });
  }
}
await writeMethodCatalog();

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('watching…');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  fs.chmodSync(path.join(dist, 'cli.js'), 0o755);
  console.log(`built ${builds.length} bundles into ${path.relative(root, dist)}/`);
}
