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
  plugins: [withoutUnusedModules()],
};

/**
 * Modules the bundles never run, left out so every process and thread parses less: node-fetch (with
 * whatwg-url and tr46), which tfjs-core's Node platform requires only where no global fetch exists
 * (Node ≥ 18 has one, and PathLens reads models itself), and zod's 60 locales but English, its default.
 */
function withoutUnusedModules() {
  return {
    name: 'without-unused-modules',
    setup(build) {
      build.onResolve({ filter: /^node-fetch$/ }, () => ({ path: 'node-fetch', namespace: 'pathlens-stub' }));
      build.onLoad({ filter: /.*/, namespace: 'pathlens-stub' }, () => ({
        contents: "module.exports = () => { throw new Error('node-fetch is not bundled: Node >= 18 has a global fetch'); };",
        loader: 'js',
      }));
      build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        /[\\/]zod[\\/]v4[\\/]/.test(args.importer)
          ? { path: path.resolve(args.resolveDir, '../locales/en.js'), namespace: 'pathlens-zod-locales' }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'pathlens-zod-locales' }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path)};`,
        loader: 'js',
        resolveDir: path.dirname(args.path),
      }));
    },
  };
}

// dist/worker.js and dist/cli.js are the small boot entry (src/worker/boot.ts): it runs the bundle
// beside it, <name>-core.js, from a V8 code cache.
const nodeEntries = [
  { in: 'src/extension/main.ts', out: 'extension' },
  { in: 'src/worker/main.ts', out: 'worker-core' },
  { in: 'src/worker/boot.ts', out: 'worker' },
  { in: 'src/cli/main.ts', out: 'cli-core' },
  { in: 'src/worker/boot.ts', out: 'cli', banner: '#!/usr/bin/env node' },
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
