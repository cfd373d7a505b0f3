// Lint rules of the code base: typescript-eslint's recommended set, prettier for layout, short
// functions, and the layering rules (which folder may import which) enforced per folder.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

// The layers (ARCHITECTURE.md): shared ← core ← worker / cli; shared ← extension; shared ← webview.
// Each rule names what a folder must not import; a relative path is matched as written.
const tfjs = { group: ['@tensorflow/*'], message: 'TF.js runs in workers only (src/core via src/worker or src/cli).' };
const vscodeApi = { name: 'vscode', message: 'Only src/extension talks to the VS Code API.' };
const layer = (regex, message) => ({ regex, message });
const restrict = (...patterns) => ({
  'no-restricted-imports': ['error', { paths: patterns.filter((p) => p.name), patterns: patterns.filter((p) => !p.name) }],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'out/**', 'test-artifacts/**', 'examples/**/*.js', 'media/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    files: ['src/shared/**'],
    rules: restrict(
      vscodeApi,
      tfjs,
      { group: ['node:*'], message: 'src/shared runs in the webview too: no Node built-ins.' },
      layer('^\\.\\./', 'src/shared is the bottom layer: it imports only its own modules and npm packages.'),
    ),
  },
  {
    files: ['src/core/**'],
    rules: restrict(vscodeApi, layer('^(\\.\\./)+(extension|worker|cli)(/|$)', 'src/core never imports the extension, worker or CLI.')),
  },
  {
    // The extension host and the worker client it loads: no TF.js, no core runtime (ask a worker).
    files: ['src/extension/**', 'src/worker/client.ts'],
    rules: restrict(
      tfjs,
      layer('^(\\.\\./)+core(/|$)', 'The extension host never loads src/core (TF.js): use src/shared, or ask the worker.'),
      layer('^(\\.\\./)+cli(/|$)', 'The extension does not import the CLI.'),
      layer('^\\.\\./worker/(?!client$)', 'The extension talks to workers through src/worker/client only.'),
    ),
  },
  {
    files: ['src/worker/**', 'src/cli/**'],
    ignores: ['src/worker/client.ts'],
    rules: restrict(vscodeApi, layer('^(\\.\\./)+extension(/|$)', 'Workers and the CLI never import the extension.')),
  },
  {
    files: ['webview/**'],
    rules: restrict(
      vscodeApi,
      tfjs,
      { group: ['node:*'], message: 'The webview is a browser page: no Node built-ins.' },
      layer('^\\.\\./(?!src/shared/)', 'The webview imports only its own modules, src/shared and npm UI packages.'),
    ),
  },
  {
    // A CommonJS stand-in for a separately installed package (test/backend.test.ts).
    files: ['test/fixtures/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: { 'max-lines-per-function': 'off' },
  },
);
