/**
 * The hostile-input corpus (issue 18): hundreds of corrupt or doctored models, inputs, flags and
 * pattern stores, generated deterministically into a folder. Each case says what PathLens must answer:
 * exit code, the culprit its one-line message names, and whether it may only run in a child process
 * (cases that used to hang). Run `npx tsx test/hostile/corpus.ts <dir>` to write it out for a look.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  baseModel,
  inputShapeOf,
  jpegBytes,
  jpegWithSize,
  pngBomb,
  pngBytes,
  pngHeader,
  patternStore,
  rng,
  writeModel,
  type ModelFiles,
  type ModelKind,
} from './fixtures';

export const CATEGORIES = ['security', 'budget', 'hang', 'raw-error', 'silent', 'corruption'] as const;
export type Category = (typeof CATEGORIES)[number];

export interface Case {
  id: string;
  category: Category;
  /** pathlens argv, absolute paths. */
  argv: string[];
  /** The case's own folder: nothing outside `out` in it may change. */
  dir: string;
  /** The only folder the run may write to (absent: none). */
  out?: string;
  /** Expected exit code; 'any' (0 or 1) for fuzzed files that may still be valid. */
  exit: 0 | 1 | 2 | 'any';
  /** The message must name one of these (file names, flags); empty for exit 0. */
  culprits: string[];
  /** Extra pattern the message must match. */
  message?: RegExp;
  /** Only in a child process with a timeout (it used to hang or block). */
  spawnOnly?: boolean;
  /** Also run through the CLI in a child process (the representative subset). */
  spawn?: boolean;
}

type Mutate = (files: ModelFiles, modelDir: string, caseDir: string) => void;

interface ModelCaseOptions {
  exit?: Case['exit'];
  culprits: string[];
  message?: RegExp;
  spawnOnly?: boolean;
  spawn?: boolean;
  /** Extra CLI flags; `input` replaces the default input file. */
  flags?: string[];
  input?: (caseDir: string) => string;
  method?: string;
  out?: boolean;
}

export class CorpusBuilder {
  readonly cases: Case[] = [];
  constructor(readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
  }

  caseDir(id: string): string {
    const dir = path.join(this.root, id);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** A valid input for a base model kind, in the case folder. */
  defaultInput(kind: ModelKind, caseDir: string): string {
    if (kind === 'cnn') {
      const file = path.join(caseDir, 'input.png');
      fs.writeFileSync(file, pngBytes());
      return file;
    }
    const file = path.join(caseDir, 'input.json');
    fs.writeFileSync(file, JSON.stringify(inputShapeOf(kind).length === 1 ? [0.5, -0.25, 1, 0.1] : []));
    return file;
  }

  model(id: string, category: Category, kind: ModelKind, mutate: Mutate, options: ModelCaseOptions): Case {
    const dir = this.caseDir(id);
    const modelDir = path.join(dir, 'model');
    const files = baseModel(kind);
    fs.mkdirSync(modelDir, { recursive: true });
    mutate(files, modelDir, dir);
    if (!fs.existsSync(path.join(modelDir, 'model.json'))) {
      fs.writeFileSync(path.join(modelDir, 'model.json'), JSON.stringify(files.modelJson));
    }
    const shard = files.modelJson.weightsManifest?.[0]?.paths?.[0];
    if (shard === 'weights.bin' && !exists(path.join(modelDir, 'weights.bin')))
      fs.writeFileSync(path.join(modelDir, 'weights.bin'), files.weights);
    const input = options.input ? options.input(dir) : this.defaultInput(kind, dir);
    const out = options.out ? path.join(dir, 'out') : undefined;
    const argv = [
      'explain',
      '--model',
      path.join(modelDir, 'model.json'),
      '--input',
      input,
      '--method',
      options.method ?? 'gradient',
      '--backend',
      'cpu',
      ...(out ? ['--out', out] : []),
      ...(options.flags ?? []),
    ];
    return this.add({
      id,
      category,
      argv,
      dir,
      out,
      exit: options.exit ?? 1,
      culprits: options.culprits,
      message: options.message,
      spawnOnly: options.spawnOnly,
      spawn: options.spawn,
    });
  }

  add(c: Case): Case {
    if (this.cases.some((k) => k.id === c.id)) throw new Error(`duplicate case id ${c.id}`);
    this.cases.push(c);
    return c;
  }

  /** A case on a valid base model with the given flags / input (for flag and input cases). */
  flags(id: string, category: Category, kind: ModelKind, flags: string[], options: Omit<ModelCaseOptions, 'flags'>): Case {
    return this.model(id, category, kind, () => {}, { ...options, flags });
  }
}

/** lstat-based: true for dangling links too. */
export function exists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

export function mkfifo(file: string): void {
  execFileSync('mkfifo', [file]);
}

function setShard(files: ModelFiles, name: string): void {
  files.modelJson.weightsManifest[0]!.paths[0] = name;
}

const KINDS: ModelKind[] = ['dense', 'functional', 'cnn', 'graph'];

function securityCases(b: CorpusBuilder): void {
  for (const kind of KINDS) {
    const outside =
      (name: string): Mutate =>
      (files, _modelDir, caseDir) => {
        fs.writeFileSync(path.join(caseDir, 'secret.bin'), files.weights); // would load if it were allowed
        setShard(files, name);
      };
    const refuse = { culprits: ['weightsManifest[0].paths[0]'], message: /outside the model folder|absolute path/ };
    b.model(`sec-${kind}-dotdot`, 'security', kind, outside('../secret.bin'), { ...refuse, spawn: kind === 'dense' });
    b.model(`sec-${kind}-pct-slash`, 'security', kind, outside('..%2Fsecret.bin'), { ...refuse, spawn: kind === 'graph' });
    b.model(`sec-${kind}-pct-dots`, 'security', kind, outside('%2E%2E%2Fsecret.bin'), refuse);
    b.model(`sec-${kind}-sub-dotdot`, 'security', kind, outside('sub/../../secret.bin'), refuse);
    b.model(`sec-${kind}-dot-dotdot`, 'security', kind, outside('./../secret.bin'), refuse);
    b.model(
      `sec-${kind}-absolute`,
      'security',
      kind,
      (files, modelDir, caseDir) => {
        fs.writeFileSync(path.join(caseDir, 'secret.bin'), files.weights);
        setShard(files, path.join(caseDir, 'secret.bin'));
      },
      { culprits: ['weightsManifest[0].paths[0]'], message: /absolute path/ },
    );
    b.model(`sec-${kind}-dev-zero`, 'security', kind, (files) => setShard(files, '/dev/zero'), {
      culprits: ['/dev/zero'],
      message: /absolute path/,
      spawn: kind === 'dense' || kind === 'cnn',
    });
    b.model(`sec-${kind}-pct-dev-zero`, 'security', kind, (files) => setShard(files, '%2Fdev%2Fzero'), {
      culprits: ['%2Fdev%2Fzero'],
      message: /absolute path/,
    });
    b.model(`sec-${kind}-etc-passwd`, 'security', kind, (files) => setShard(files, '/etc/passwd'), {
      culprits: ['/etc/passwd'],
      message: /absolute path/,
    });
    b.model(
      `sec-${kind}-symlink-shard`,
      'security',
      kind,
      (files, modelDir, caseDir) => {
        fs.writeFileSync(path.join(caseDir, 'secret.bin'), files.weights);
        fs.symlinkSync('../secret.bin', path.join(modelDir, 'weights.bin'));
      },
      { culprits: ['weights.bin'], message: /link to .*outside the model folder/, spawn: kind === 'functional' },
    );
    b.model(
      `sec-${kind}-symlink-abs-shard`,
      'security',
      kind,
      (files, modelDir) => {
        fs.symlinkSync('/dev/zero', path.join(modelDir, 'weights.bin'));
      },
      { culprits: ['weights.bin'], message: /outside the model folder/ },
    );
    b.model(
      `sec-${kind}-symlinked-subfolder`,
      'security',
      kind,
      (files, modelDir, caseDir) => {
        fs.mkdirSync(path.join(caseDir, 'elsewhere'));
        fs.writeFileSync(path.join(caseDir, 'elsewhere', 'weights.bin'), files.weights);
        fs.symlinkSync('../elsewhere', path.join(modelDir, 'sub'));
        setShard(files, 'sub/weights.bin');
      },
      { culprits: ['sub/weights.bin'], message: /outside the model folder/ },
    );
    b.model(`sec-${kind}-shard-fifo`, 'security', kind, (files, modelDir) => mkfifo(path.join(modelDir, 'weights.bin')), {
      culprits: ['weights.bin'],
      message: /named pipe/,
      spawnOnly: true,
    });
    b.model(`sec-${kind}-shard-folder`, 'security', kind, (files, modelDir) => fs.mkdirSync(path.join(modelDir, 'weights.bin')), {
      culprits: ['weights.bin'],
      message: /folder/,
    });
    b.model(
      `sec-${kind}-labels-link`,
      'security',
      kind,
      (files, modelDir, caseDir) => {
        fs.writeFileSync(path.join(caseDir, 'secret.txt'), 'a\nb\nc\n');
        fs.symlinkSync('../secret.txt', path.join(modelDir, 'labels.txt'));
      },
      { culprits: ['labels.txt'], message: /outside the model folder/ },
    );
    b.model(
      `sec-${kind}-metadata-link`,
      'security',
      kind,
      (files, modelDir, caseDir) => {
        fs.writeFileSync(path.join(caseDir, 'secret.json'), '{"labels":["a","b","c"]}');
        fs.symlinkSync(path.join(caseDir, 'secret.json'), path.join(modelDir, 'metadata.json'));
      },
      { culprits: ['metadata.json'], message: /outside the model folder/ },
    );
    b.model(`sec-${kind}-labels-fifo`, 'security', kind, (files, modelDir) => mkfifo(path.join(modelDir, 'labels.txt')), {
      culprits: ['labels.txt'],
      message: /named pipe/,
      spawnOnly: true,
    });
    b.model(
      `sec-${kind}-labels-dev`,
      'security',
      kind,
      (files, modelDir) => fs.symlinkSync('/dev/zero', path.join(modelDir, 'labels.txt')),
      {
        culprits: ['labels.txt'],
        message: /outside the model folder/,
      },
    );
  }
  b.model(
    'sec-cnn-pathlens-json-link',
    'security',
    'cnn',
    (files, modelDir, caseDir) => {
      fs.writeFileSync(path.join(caseDir, 'secret.json'), '{"preprocess":"signed"}');
      fs.symlinkSync('../secret.json', path.join(modelDir, 'pathlens.json'));
    },
    { culprits: ['pathlens.json'], message: /outside the model folder/, spawn: true },
  );
  b.model('sec-cnn-pathlens-json-fifo', 'security', 'cnn', (files, modelDir) => mkfifo(path.join(modelDir, 'pathlens.json')), {
    culprits: ['pathlens.json'],
    message: /named pipe/,
    spawnOnly: true,
  });
  b.model('sec-dense-shard-nul', 'security', 'dense', (files) => setShard(files, 'weights.bin%00.png'), {
    culprits: ['weights.bin%00.png'],
    message: /NUL/,
  });
  b.model('sec-dense-shard-empty-name', 'security', 'dense', (files) => setShard(files, ''), { culprits: ['paths[0]'] });
  b.model(
    'sec-dense-second-group-escape',
    'security',
    'dense',
    (files, _modelDir, caseDir) => {
      const [group] = files.modelJson.weightsManifest;
      const bias = group!.weights.pop()!;
      files.modelJson.weightsManifest.push({ paths: ['../bias.bin'], weights: [bias] });
      fs.writeFileSync(path.join(caseDir, 'bias.bin'), files.weights.subarray(48));
      files.weights = files.weights.subarray(0, 48);
    },
    { culprits: ['weightsManifest[1].paths[0]'], message: /outside the model folder/ },
  );
}

function budgetCases(b: CorpusBuilder): void {
  const setLayer =
    (kind: ModelKind, index: number, patch: Record<string, unknown>): Mutate =>
    (files) => {
      const topology = files.modelJson.modelTopology as { config: { layers: { config: Record<string, unknown> }[] } };
      Object.assign(topology.config.layers[index]!.config, patch);
    };
  const limit = /more than|budget/;
  b.model('budget-dense-units-1e8', 'budget', 'dense', setLayer('dense', 0, { units: 1e8 }), {
    culprits: ["'dense'", 'units'],
    message: limit,
    spawn: true,
  });
  b.model('budget-dense-units-1e9', 'budget', 'dense', setLayer('dense', 0, { units: 1e9 }), { culprits: ['units'], message: limit });
  b.model('budget-functional-units-1e8', 'budget', 'functional', setLayer('functional', 1, { units: 1e8 }), {
    culprits: ["'d1'"],
    message: limit,
  });
  b.model('budget-cnn-filters-1e8', 'budget', 'cnn', setLayer('cnn', 0, { filters: 1e8 }), { culprits: ['filters'], message: limit });
  b.model('budget-cnn-filters-negative', 'budget', 'cnn', setLayer('cnn', 0, { filters: -2 }), { culprits: ['filters'] });
  b.model('budget-dense-units-string', 'budget', 'dense', setLayer('dense', 0, { units: '3' }), { culprits: ['units'] });
  b.model('budget-dense-input-1e9', 'budget', 'dense', setLayer('dense', 0, { batch_input_shape: [null, 1e9] }), {
    culprits: ['batch_input_shape'],
    message: limit,
    spawn: true,
  });
  b.model('budget-cnn-input-huge', 'budget', 'cnn', setLayer('cnn', 0, { batch_input_shape: [null, 100000, 100000, 3] }), {
    culprits: ['batch_input_shape'],
    message: limit,
  });
  b.model(
    'budget-functional-input-1e9',
    'budget',
    'functional',
    (files) => {
      const topology = files.modelJson.modelTopology as { config: { layers: { config: Record<string, unknown> }[] } };
      topology.config.layers[0]!.config.batch_input_shape = [null, 1e9];
    },
    { culprits: ['batch_input_shape'], message: limit },
  );
  const placeholder =
    (dims: number[]): Mutate =>
    (files) => {
      const nodes = (files.modelJson.modelTopology as { node: { attr: Record<string, unknown> }[] }).node;
      nodes[0]!.attr.shape = { shape: { dim: [{ size: '-1' }, ...dims.map((d) => ({ size: String(d) }))] } };
    };
  b.model('budget-graph-placeholder-1e9', 'budget', 'graph', placeholder([1e9]), { culprits: ["input 'x'"], message: limit, spawn: true });
  b.model('budget-graph-placeholder-4d', 'budget', 'graph', placeholder([100000, 100000, 3]), { culprits: ["input 'x'"], message: limit });
  b.model('budget-graph-placeholder-2e8', 'budget', 'graph', placeholder([2e8, 2]), { culprits: ["input 'x'"], message: limit });
  const hugeWeight =
    (shape: number[]): Mutate =>
    (files) => {
      files.modelJson.weightsManifest[0]!.weights[0]!.shape = shape;
    };
  b.model('budget-dense-weight-1e12', 'budget', 'dense', hugeWeight([1e6, 1e6]), {
    culprits: ['weightsManifest'],
    message: limit,
    spawn: true,
  });
  b.model('budget-graph-weight-2e9', 'budget', 'graph', hugeWeight([2e9]), { culprits: ['weightsManifest'], message: limit });
  b.model('budget-cnn-weight-huge', 'budget', 'cnn', hugeWeight([65536, 65536, 3, 2]), { culprits: ['weightsManifest'], message: limit });
  b.model(
    'budget-dense-repeat-1e9',
    'budget',
    'dense',
    (files) => {
      const layers = (files.modelJson.modelTopology as { config: { layers: unknown[] } }).config.layers;
      layers.push({ class_name: 'RepeatVector', config: { name: 'repeat', n: 1e9 } }, { class_name: 'Flatten', config: { name: 'flat' } });
    },
    { culprits: ["'repeat'"], message: limit },
  );
  b.model(
    'budget-cnn-upsample',
    'budget',
    'cnn',
    (files) => {
      const layers = (files.modelJson.modelTopology as { config: { layers: unknown[] } }).config.layers;
      layers.splice(1, 0, { class_name: 'UpSampling2D', config: { name: 'up', size: [20000, 20000] } });
    },
    { culprits: ["'up'", 'model.json'] },
  ); // the Dense kernel after it is refused by V8's array limit while TF.js builds
  const image = (
    id: string,
    bytes: () => Buffer,
    ext: string,
    options: { culprit?: string; message?: RegExp; spawn?: boolean; exit?: Case['exit'] } = {},
  ) =>
    b.model(id, 'budget', 'cnn', () => {}, {
      input: (dir) => {
        const file = path.join(dir, `image.${ext}`);
        fs.writeFileSync(file, bytes());
        return file;
      },
      culprits: [options.culprit ?? `image.${ext}`],
      message: options.message,
      spawn: options.spawn,
      exit: options.exit,
    });
  image('budget-png-20000-header-only', () => pngHeader(20000, 20000), 'png', {
    message: /20000×20000.*refused before decoding/,
    spawn: true,
  });
  image('budget-png-30000-header-only', () => pngHeader(30000, 30000), 'png', { message: /30000×30000/ });
  image('budget-png-20000-bomb', () => pngBomb(20000, 20000), 'png', { message: /refused before decoding/, spawn: true });
  image('budget-png-30000-bomb', () => pngBomb(30000, 30000), 'png', { message: /refused before decoding/ });
  image('budget-png-65535-square', () => pngHeader(65535, 65535), 'png', { message: /refused before decoding/ });
  image('budget-png-max-uint', () => pngHeader(0x7fffffff, 0x7fffffff), 'png', { message: /refused before decoding/ });
  image('budget-png-long-strip', () => pngBomb(1, 70_000_000), 'png', { message: /refused before decoding/ });
  image('budget-png-9000-square', () => pngBomb(9000, 9000), 'png', { message: /refused before decoding/ });
  image('budget-png-wide-within-limit', () => pngBomb(100000, 1), 'png', { exit: 'any' });
  image('budget-jpeg-65535-square', () => jpegWithSize(65535, 65535), 'jpg', { message: /refused before decoding/, spawn: true });
  image('budget-jpeg-10000-square', () => jpegWithSize(10000, 10000), 'jpg', { message: /refused before decoding/ });
  image('budget-jpeg-wide-within-limit', () => jpegWithSize(60000, 8), 'jpg', { exit: 'any' });
  b.model(
    'budget-baseline-png-bomb',
    'budget',
    'cnn',
    (files, modelDir, caseDir) => {
      fs.writeFileSync(path.join(caseDir, 'baseline.png'), pngHeader(30000, 30000));
    },
    { flags: ['--method', 'ig', '--steps', '4'], culprits: ['baseline.png'], message: /refused before decoding/ },
  ).argv.push('--baseline', path.join(b.root, 'budget-baseline-png-bomb', 'baseline.png'));
  b.model('budget-memory-16mb-cnn-input', 'budget', 'cnn', setLayer('cnn', 0, { batch_input_shape: [null, 2048, 2048, 3] }), {
    flags: ['--memory-budget-mb', '16'],
    // Within the load-time ceiling; the weights no longer fit the bigger input and are named.
    culprits: ['out/kernel'],
    message: /has shape \[72,3\]/,
  });
}

function hangCases(b: CorpusBuilder): void {
  const functionalLayers = (files: ModelFiles) =>
    (files.modelJson.modelTopology as { config: { layers: { name: string; inbound_nodes: unknown }[] } }).config.layers;
  const inbound = (from: string) => [[[from, 0, 0, {}]]];
  const cycle = { culprits: ['model.json'], message: /cycle/, spawnOnly: true };
  b.model(
    'hang-functional-self-cycle',
    'hang',
    'functional',
    (files) => {
      functionalLayers(files)[1]!.inbound_nodes = inbound('d1');
    },
    cycle,
  );
  b.model(
    'hang-functional-two-cycle',
    'hang',
    'functional',
    (files) => {
      functionalLayers(files)[1]!.inbound_nodes = inbound('d2');
    },
    cycle,
  );
  b.model(
    'hang-functional-cycle-through-input',
    'hang',
    'functional',
    (files) => {
      functionalLayers(files)[0]!.inbound_nodes = inbound('d2');
    },
    cycle,
  );
  b.model(
    'hang-functional-keras3-cycle',
    'hang',
    'functional',
    (files) => {
      const layers = functionalLayers(files);
      layers[1]!.inbound_nodes = [{ args: [{ class_name: '__keras_tensor__', config: { keras_history: ['d2', 0, 0] } }], kwargs: {} }];
    },
    cycle,
  );
  b.model(
    'hang-nested-functional-cycle',
    'hang',
    'dense',
    (files) => {
      const inner = baseModel('functional').modelJson.modelTopology as { config: { layers: { inbound_nodes: unknown }[] } };
      inner.config.layers[1]!.inbound_nodes = inbound('d2');
      (files.modelJson.modelTopology as { config: { layers: unknown[] } }).config.layers.unshift(inner);
    },
    cycle,
  );
  const graphNodes = (files: ModelFiles) => (files.modelJson.modelTopology as { node: { name: string; input?: string[] }[] }).node;
  b.model(
    'hang-graph-self-cycle',
    'hang',
    'graph',
    (files) => {
      graphNodes(files)[4]!.input = ['logits', 'b'];
    },
    cycle,
  );
  b.model(
    'hang-graph-two-cycle',
    'hang',
    'graph',
    (files) => {
      graphNodes(files)[3]!.input = ['logits', 'W'];
    },
    cycle,
  );
  b.model(
    'hang-graph-control-cycle',
    'hang',
    'graph',
    (files) => {
      graphNodes(files)[3]!.input = ['x', 'W', '^Identity'];
    },
    cycle,
  );
  b.model('hang-fifo-input', 'hang', 'dense', () => {}, {
    input: (dir) => {
      mkfifo(path.join(dir, 'pipe.json'));
      return path.join(dir, 'pipe.json');
    },
    culprits: ['pipe.json'],
    message: /named pipe/,
    spawnOnly: true,
  });
  b.model('hang-fifo-in-input-folder', 'hang', 'dense', () => {}, {
    input: (dir) => {
      fs.mkdirSync(path.join(dir, 'inputs'));
      fs.writeFileSync(path.join(dir, 'inputs', 'a.json'), '[0,0,0,0]');
      mkfifo(path.join(dir, 'inputs', 'b.json'));
      return path.join(dir, 'inputs');
    },
    culprits: ['b.json'],
    message: /named pipe/,
    spawnOnly: true,
  });
  b.model('hang-fifo-model-json', 'hang', 'dense', (files, modelDir) => mkfifo(path.join(modelDir, 'model.json')), {
    culprits: ['model.json'],
    message: /named pipe/,
    spawnOnly: true,
  });
  b.model('hang-dev-zero-input', 'hang', 'dense', () => {}, {
    input: () => '/dev/zero',
    culprits: ['/dev/zero'],
    message: /device/,
    spawnOnly: true,
  });
  b.model('hang-dev-zero-baseline', 'hang', 'dense', () => {}, {
    flags: ['--method', 'ig', '--steps', '4', '--baseline', '/dev/zero'],
    culprits: ['/dev/zero'],
    message: /device/,
    spawnOnly: true,
  });
  b.model('hang-fifo-reference', 'hang', 'dense', (files, modelDir, caseDir) => mkfifo(path.join(caseDir, 'refs.json')), {
    flags: ['--method', 'expected-gradients', '--samples', '4'],
    culprits: ['refs.json'],
    message: /named pipe/,
    spawnOnly: true,
  }).argv.push('--reference', path.join(b.root, 'hang-fifo-reference', 'refs.json'));
  const flagCase = (id: string, flags: string[], culprit: string, exit: Case['exit'] = 2) =>
    b.flags(id, 'hang', 'dense', flags, {
      culprits: [culprit],
      exit,
      spawnOnly: true,
      message: /at most|whole number|must be|more than the cap/,
    });
  flagCase('hang-steps-1e9', ['--method', 'ig', '--steps', '1e9'], '--steps');
  flagCase('hang-steps-4097', ['--method', 'ig', '--steps', '4097'], '--steps');
  flagCase('hang-workers-1000', ['--workers', '1000'], '--workers');
  flagCase('hang-max-evaluations-1e12', ['--method', 'ig', '--rule', 'adaptive', '--max-evaluations', '1e12'], '--max-evaluations');
  flagCase('hang-samples-1e9', ['--method', 'smoothgrad', '--samples', '1e9'], '--samples');
  flagCase(
    'hang-steps-times-samples',
    ['--method', 'smoothgrad', '--samples', '4096', '--steps', '4096', '--wrap', 'ig'],
    '--steps × --samples',
  );
  flagCase('hang-ascent-steps-1e9', ['--method', 'ggig', '--ascent-steps', '1e9'], '--ascent-steps');
  flagCase('hang-guided-ig-steps-1e7', ['--method', 'guided-ig', '--steps', '1e7'], '--steps');
}

function rawErrorCases(b: CorpusBuilder): void {
  const weight =
    (patch: Record<string, unknown>, drop?: string): Mutate =>
    (files) => {
      const entry = files.modelJson.weightsManifest[0]!.weights[0] as unknown as Record<string, unknown>;
      Object.assign(entry, patch);
      if (drop) delete entry[drop];
    };
  for (const kind of ['dense', 'graph'] as const) {
    const field = (name: string) => [`weightsManifest[0].weights[0].${name}`];
    b.model(`raw-${kind}-weight-no-shape`, 'raw-error', kind, weight({}, 'shape'), { culprits: field('shape'), spawn: kind === 'dense' });
    b.model(`raw-${kind}-weight-string-shape`, 'raw-error', kind, weight({ shape: '4,3' }), { culprits: field('shape') });
    b.model(`raw-${kind}-weight-negative-dim`, 'raw-error', kind, weight({ shape: [-4, 3] }), { culprits: field('shape[0]') });
    b.model(`raw-${kind}-weight-fractional-dim`, 'raw-error', kind, weight({ shape: [1.5, 8] }), { culprits: field('shape[0]') });
    b.model(`raw-${kind}-weight-null-shape`, 'raw-error', kind, weight({ shape: null }), { culprits: field('shape') });
    b.model(`raw-${kind}-weight-string-dims`, 'raw-error', kind, weight({ shape: ['4', '3'] }), { culprits: field('shape[0]') });
    b.model(`raw-${kind}-weight-no-name`, 'raw-error', kind, weight({}, 'name'), { culprits: field('name') });
    b.model(`raw-${kind}-weight-bad-dtype`, 'raw-error', kind, weight({ dtype: 'complex128' }), { culprits: ['complex128'] });
    b.model(`raw-${kind}-weight-no-dtype`, 'raw-error', kind, weight({}, 'dtype'), { culprits: field('dtype') });
    b.model(
      `raw-${kind}-paths-not-array`,
      'raw-error',
      kind,
      (files) => ((files.modelJson.weightsManifest[0] as unknown as Record<string, unknown>).paths = 'weights.bin'),
      {
        culprits: ['weightsManifest[0].paths'],
      },
    );
    b.model(
      `raw-${kind}-weights-not-array`,
      'raw-error',
      kind,
      (files) => ((files.modelJson.weightsManifest[0] as unknown as Record<string, unknown>).weights = {}),
      {
        culprits: ['weightsManifest[0].weights'],
      },
    );
    b.model(`raw-${kind}-malformed-percent`, 'raw-error', kind, (files) => setShard(files, 'weights%E0%A4%A.bin'), {
      culprits: ['weights%E0%A4%A.bin'],
      message: /percent-encoded/,
      spawn: kind === 'graph',
    });
    b.model(`raw-${kind}-labels-folder`, 'raw-error', kind, (files, modelDir) => fs.mkdirSync(path.join(modelDir, 'labels.txt')), {
      culprits: ['labels.txt'],
      message: /folder/,
      spawn: kind === 'dense',
    });
    b.model(`raw-${kind}-metadata-folder`, 'raw-error', kind, (files, modelDir) => fs.mkdirSync(path.join(modelDir, 'metadata.json')), {
      culprits: ['metadata.json'],
    });
    b.model(
      `raw-${kind}-model-json-deep`,
      'raw-error',
      kind,
      (files, modelDir) => {
        fs.writeFileSync(path.join(modelDir, 'model.json'), '{"modelTopology":' + '['.repeat(100000) + ']'.repeat(100000) + '}');
      },
      { culprits: ['model.json'], message: /levels deep/ },
    );
    b.model(
      `raw-${kind}-metadata-deep`,
      'raw-error',
      kind,
      (files, modelDir) => {
        fs.writeFileSync(path.join(modelDir, 'metadata.json'), '{"labels":' + '['.repeat(100000) + ']'.repeat(100000) + '}');
      },
      { culprits: ['metadata.json'], message: /levels deep/ },
    );
    b.model(
      `raw-${kind}-metadata-labels-numbers`,
      'raw-error',
      kind,
      (files, modelDir) => {
        fs.writeFileSync(path.join(modelDir, 'metadata.json'), '{"labels":[1,2,3]}');
      },
      { culprits: ['metadata.json', 'labels[0]'] },
    );
  }
  b.model('raw-cnn-pathlens-json-folder', 'raw-error', 'cnn', (files, modelDir) => fs.mkdirSync(path.join(modelDir, 'pathlens.json')), {
    culprits: ['pathlens.json'],
  });
  b.model(
    'raw-cnn-pathlens-json-deep',
    'raw-error',
    'cnn',
    (files, modelDir) => {
      fs.writeFileSync(path.join(modelDir, 'pathlens.json'), '{"mean":' + '['.repeat(50000) + ']'.repeat(50000) + '}');
    },
    { culprits: ['pathlens.json'] },
  );
  const png = (id: string, bytes: Buffer, culprit = 'image.png', message?: RegExp, spawn?: boolean) =>
    b.model(id, 'raw-error', 'cnn', () => {}, {
      input: (dir) => {
        fs.writeFileSync(path.join(dir, culprit), bytes);
        return path.join(dir, culprit);
      },
      culprits: [culprit],
      message,
      spawn,
    });
  png('raw-png-width-0', pngBomb(0, 8), 'image.png', /0×8/, true);
  png('raw-png-height-0', pngBomb(8, 0), 'image.png', /8×0/);
  png('raw-png-both-0', pngHeader(0, 0), 'image.png', /0×0/);
  png('raw-jpeg-width-0', jpegWithSize(0, 8), 'image.jpg', /0×8/);
  png('raw-png-signature-only', pngBytes().subarray(0, 8), 'image.png', /cut short/);
  png('raw-png-empty', Buffer.alloc(0), 'image.png', /empty/);
  b.model('raw-json-input-deep', 'raw-error', 'dense', () => {}, {
    input: (dir) => {
      fs.writeFileSync(path.join(dir, 'deep.json'), '['.repeat(100000) + ']'.repeat(100000));
      return path.join(dir, 'deep.json');
    },
    culprits: ['deep.json'],
    message: /levels deep/,
    spawn: true,
  });
  b.model('raw-json-input-deep-objects', 'raw-error', 'dense', () => {}, {
    input: (dir) => {
      fs.writeFileSync(path.join(dir, 'deep.json'), '{"a":'.repeat(20000) + '1' + '}'.repeat(20000));
      return path.join(dir, 'deep.json');
    },
    culprits: ['deep.json'],
  });
  const folderWith = (id: string, setup: (folder: string) => void, culprit: string, message: RegExp, spawn?: boolean) =>
    b.model(id, 'raw-error', 'dense', () => {}, {
      input: (dir) => {
        const folder = path.join(dir, 'inputs');
        fs.mkdirSync(folder);
        fs.writeFileSync(path.join(folder, 'a.json'), '[0,0,0,0]');
        setup(folder);
        return folder;
      },
      culprits: [culprit],
      message,
      spawn,
    });
  folderWith(
    'raw-input-folder-symlink-loop',
    (f) => {
      fs.symlinkSync('loop2.json', path.join(f, 'loop1.json'));
      fs.symlinkSync('loop1.json', path.join(f, 'loop2.json'));
    },
    'loop1.json',
    /symbolic link loop/,
    true,
  );
  folderWith(
    'raw-input-folder-self-link',
    (f) => fs.symlinkSync('self.json', path.join(f, 'self.json')),
    'self.json',
    /symbolic link loop/,
  );
  folderWith('raw-input-folder-dangling', (f) => fs.symlinkSync('gone.json', path.join(f, 'b.json')), 'b.json', /dangling/, true);
  folderWith('raw-input-folder-dev-link', (f) => fs.symlinkSync('/dev/zero', path.join(f, 'b.json')), 'b.json', /device/);
  b.model('raw-input-dangling-file', 'raw-error', 'dense', () => {}, {
    input: (dir) => {
      fs.symlinkSync('gone.json', path.join(dir, 'x.json'));
      return path.join(dir, 'x.json');
    },
    culprits: ['x.json'],
    message: /dangling/,
  });
  b.model('raw-input-loop-file', 'raw-error', 'dense', () => {}, {
    input: (dir) => {
      fs.symlinkSync('x.json', path.join(dir, 'x.json'));
      return path.join(dir, 'x.json');
    },
    culprits: ['x.json'],
    message: /loop/,
  });
  b.flags('raw-steps-1e12', 'raw-error', 'dense', ['--method', 'ig', '--steps', '1e12'], { culprits: ['--steps'], exit: 2, spawn: true });
  outCases(b);
  patternCases(b);
  const modelFile = (id: string, bytes: Buffer | null, culprit: string, message?: RegExp, spawn?: boolean) =>
    b.model(
      id,
      'raw-error',
      'dense',
      (files, modelDir) => {
        if (bytes === null) fs.mkdirSync(path.join(modelDir, 'model.json'));
        else fs.writeFileSync(path.join(modelDir, 'model.json'), bytes);
      },
      { culprits: [culprit], message, spawn },
    );
  const hdf5 = Buffer.concat([
    Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.alloc(64, 7),
    Buffer.from('\n\r\n\0\0keras'),
  ]);
  modelFile('raw-model-is-hdf5', hdf5, 'model.json', /binary file \(HDF5/, true);
  modelFile('raw-model-is-png', pngBytes(), 'model.json', /not valid JSON/);
  modelFile('raw-model-is-zip', Buffer.from('PK\x03\x04\x14\0\0\0keras_metadata'), 'model.json', /zip/);
  modelFile('raw-model-empty', Buffer.alloc(0), 'model.json', /not valid JSON/);
  modelFile('raw-model-is-folder', null, 'model.json', /folder/);
  modelFile('raw-model-array', Buffer.from('[1,2,3]'), 'model.json');
  modelFile('raw-model-null', Buffer.from('null'), 'model.json');
  modelFile('raw-model-topology-string', Buffer.from('{"modelTopology":"x","weightsManifest":[]}'), 'modelTopology');
  modelFile('raw-model-utf16', Buffer.from('\ufeff{"a":1}', 'utf16le'), 'model.json');
  b.add({
    id: 'raw-h5-given-as-model',
    category: 'raw-error',
    ...(() => {
      const dir = b.caseDir('raw-h5-given-as-model');
      fs.writeFileSync(path.join(dir, 'model.h5'), hdf5);
      fs.writeFileSync(path.join(dir, 'input.json'), '[0,0,0,0]');
      return { dir, argv: ['explain', '--model', path.join(dir, 'model.h5'), '--input', path.join(dir, 'input.json'), '--backend', 'cpu'] };
    })(),
    exit: 1,
    culprits: ['model.h5'],
    message: /HDF5/,
    spawn: true,
  });
  b.add({
    id: 'raw-info-h5',
    category: 'raw-error',
    ...(() => {
      const dir = b.caseDir('raw-info-h5');
      fs.writeFileSync(path.join(dir, 'model.h5'), hdf5);
      return { dir, argv: ['info', '--model', path.join(dir, 'model.h5'), '--backend', 'cpu'] };
    })(),
    exit: 1,
    culprits: ['model.h5'],
    message: /HDF5/,
  });
}

function outCases(b: CorpusBuilder): void {
  const out = (id: string, setup: (dir: string) => string, culprit: RegExp | string, spawn?: boolean) => {
    const c = b.model(id, 'raw-error', 'dense', () => {}, {
      culprits: [typeof culprit === 'string' ? culprit : '--out'],
      message: typeof culprit === 'string' ? /--out/ : culprit,
      spawn,
    });
    const target = setup(c.dir);
    c.argv.push('--out', target);
    // Nothing may be written anywhere, except into an existing output folder (its temporary files).
    c.out = fs.existsSync(target) && fs.statSync(target).isDirectory() ? target : undefined;
  };
  out(
    'raw-out-is-file',
    (dir) => {
      fs.writeFileSync(path.join(dir, 'report'), 'not a folder');
      return path.join(dir, 'report');
    },
    /is a file, not a folder/,
    true,
  );
  out(
    'raw-out-below-file',
    (dir) => {
      fs.writeFileSync(path.join(dir, 'report'), 'not a folder');
      return path.join(dir, 'report', 'sub');
    },
    /is below .*report, which is a file/,
    true,
  );
  out(
    'raw-out-deep-below-file',
    (dir) => {
      fs.writeFileSync(path.join(dir, 'report'), 'not a folder');
      return path.join(dir, 'report', 'a', 'b', 'c');
    },
    /which is a file/,
  );
  out('raw-out-unwritable', () => '/proc/pathlens-report', /--out/);
  out('raw-out-under-dev-null', () => '/dev/null/report', /--out/);
  out(
    'raw-out-result-json-folder',
    (dir) => {
      fs.mkdirSync(path.join(dir, 'report', 'result.json'), { recursive: true });
      return path.join(dir, 'report');
    },
    /result\.json/,
  );
}

function patternCases(b: CorpusBuilder): void {
  // Pattern stores given with --patterns (PathLens checks them before the model hash).
  const store = (
    id: string,
    header: Record<string, unknown>,
    floats: number[],
    culprits: string[],
    category: Category = 'raw-error',
    message?: RegExp,
  ) =>
    b.model(id, category, 'dense', () => {}, {
      method: 'pattern-net',
      culprits,
      message,
      flags: ['--patterns', path.join(b.root, id, 'patterns.bin')],
    }) && fs.writeFileSync(path.join(b.root, id, 'patterns.bin'), patternStore(header, floats));
  const header = (layer: Record<string, unknown>) => ({
    format: 'pathlens-patterns',
    version: 1,
    modelHash: '0'.repeat(64),
    layers: [
      { name: 'dense', className: 'Dense', shape: [4, 3], estimator: 'linear', foldedBatchNorm: null, offset: 0, length: 12, ...layer },
    ],
  });
  const twelve = Array.from({ length: 12 }, (_, i) => i / 10);
  store('raw-pattern-negative-length', header({ length: -12 }), twelve, ['layers[0].length'], 'raw-error');
  store('raw-pattern-string-shape', header({ shape: '4,3' }), twelve, ['layers[0].shape']);
  store('raw-pattern-length-shape-mismatch', header({ length: 6 }), twelve, ["layer 'dense'"]);
  store('raw-pattern-huge-length', header({ length: 1e12, shape: [1e6, 1e6] }), twelve, ["layer 'dense'", 'patterns.bin']);
  store('raw-pattern-header-garbage', { layers: 'x' }, twelve, ['patterns.bin']);
  store('raw-pattern-wrong-format', { ...header({}), format: 'other' }, twelve, ['format']);
  store('silent-pattern-negative-offset', header({ offset: -3 }), twelve, ['layers[0].offset'], 'silent');
  store('silent-pattern-nan', header({}), [...twelve.slice(0, 5), NaN, ...twelve.slice(6)], ["layer 'dense'"], 'silent', /NaN/);
  store('silent-pattern-infinity', header({}), [...twelve.slice(0, 11), Infinity], ["layer 'dense'"], 'silent', /Infinity/);
  b.model(
    'raw-pattern-truncated-header',
    'raw-error',
    'dense',
    (files, modelDir, caseDir) => {
      const bytes = patternStore(header({}), twelve);
      bytes.writeUInt32LE(1_000_000, 8);
      fs.writeFileSync(path.join(caseDir, 'patterns.bin'), bytes);
    },
    {
      method: 'pattern-net',
      culprits: ['patterns.bin'],
      flags: ['--patterns', path.join(b.root, 'raw-pattern-truncated-header', 'patterns.bin')],
    },
  );
  b.model('raw-pattern-dir-is-file', 'raw-error', 'dense', (files, modelDir) => fs.writeFileSync(path.join(modelDir, '.pathlens'), 'x'), {
    method: 'pattern-net',
    culprits: ['.pathlens'],
    spawn: true,
  });
  b.model(
    'sec-pattern-dir-link',
    'security',
    'dense',
    (files, modelDir, caseDir) => {
      fs.mkdirSync(path.join(caseDir, 'elsewhere'));
      fs.symlinkSync('../elsewhere', path.join(modelDir, '.pathlens'));
    },
    { method: 'pattern-net', culprits: ['patterns', '.pathlens'] },
  );
  // patterns fit writing onto a folder / a file path below a file.
  for (const [id, setup, culprit] of [
    [
      'raw-fit-out-is-folder',
      (dir: string) => {
        fs.mkdirSync(path.join(dir, 'patterns.bin'));
        return path.join(dir, 'patterns.bin');
      },
      'patterns.bin',
    ],
    [
      'raw-fit-out-below-file',
      (dir: string) => {
        fs.writeFileSync(path.join(dir, 'file'), 'x');
        return path.join(dir, 'file', 'patterns.bin');
      },
      'file',
    ],
  ] as const) {
    const dir = b.caseDir(id);
    const modelDir = path.join(dir, 'model');
    writeModel(modelDir, baseModel('dense'));
    fs.writeFileSync(path.join(dir, 'data.csv'), 'a,b,c,d\n1,2,3,4\n0,1,0,1\n');
    b.add({
      id,
      category: 'raw-error',
      dir,
      argv: [
        'patterns',
        'fit',
        '--model',
        path.join(modelDir, 'model.json'),
        '--data',
        path.join(dir, 'data.csv'),
        '--out',
        setup(dir),
        '--backend',
        'cpu',
      ],
      exit: 1,
      culprits: [culprit],
      spawn: id === 'raw-fit-out-is-folder',
    });
  }
}

function silentCases(b: CorpusBuilder): void {
  const flag = (id: string, flags: string[], culprit: string, exit: Case['exit'] = 2, spawn?: boolean) =>
    b.flags(id, 'silent', 'dense', flags, { culprits: [culprit], exit, spawn });
  flag('silent-target-empty', ['--target', ''], '--target', 2, true);
  flag('silent-target-space', ['--target', ' '], '--target');
  flag('silent-target-negative', ['--target', '-1'], '--target');
  flag('silent-target-fraction', ['--target', '1.5'], '--target');
  flag('silent-target-out-of-range', ['--target', '999'], 'target class 999', 1);
  flag('silent-out-empty', ['--out', ''], '--out', 2, true);
  flag('silent-out-space', ['--out', ' '], '--out');
  flag('silent-steps-zero', ['--method', 'ig', '--steps', '0'], '--steps');
  flag('silent-steps-negative', ['--method', 'ig', '--steps', '-5'], '--steps');
  flag('silent-workers-zero', ['--workers', '0'], '--workers');
  flag('silent-memory-zero', ['--memory-budget-mb', '0'], '--memory-budget-mb');
  flag('silent-max-rows-zero', ['--max-rows', '0'], '--max-rows');
  flag('silent-input-empty', ['--input', ''], 'input path is empty', 1);
  b.model(
    'silent-graph-cycle-unused-node',
    'silent',
    'graph',
    (files) => {
      const nodes = (files.modelJson.modelTopology as { node: { name: string; op: string; input?: string[]; attr?: unknown }[] }).node;
      nodes.push({ name: 'loop_a', op: 'Relu', input: ['loop_b'], attr: {} }, { name: 'loop_b', op: 'Relu', input: ['loop_a'], attr: {} });
    },
    { culprits: ['model.json'], message: /cycle/ },
  );
  b.model(
    'silent-functional-unknown-inbound',
    'silent',
    'functional',
    (files) => {
      const layers = (files.modelJson.modelTopology as { config: { layers: { inbound_nodes: unknown }[] } }).config.layers;
      layers[2]!.inbound_nodes = [[['nowhere', 0, 0, {}]]];
    },
    { culprits: ['model.json'] },
  );
}

const CUT_POINTS = [1, 2, 10, 25, 50, 100, 200, 400, 0.5, 0.9, 0.99];

function corruptionCases(b: CorpusBuilder): void {
  for (const kind of ['dense', 'cnn', 'graph'] as const) {
    const text = JSON.stringify(baseModel(kind).modelJson);
    const cuts = new Set(CUT_POINTS.map((cut) => (cut < 1 ? Math.floor(text.length * cut) : cut)).filter((at) => at < text.length));
    for (const at of cuts) {
      b.model(
        `corrupt-${kind}-json-cut-${at}`,
        'corruption',
        kind,
        (files, modelDir) => fs.writeFileSync(path.join(modelDir, 'model.json'), text.slice(0, at)),
        {
          culprits: ['model.json'],
          message: /not valid JSON|truncated/,
        },
      );
    }
    const random = rng(kind.length * 101);
    for (let k = 0; k < 12; k++) {
      const bytes = Buffer.from(text);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      b.model(
        `corrupt-${kind}-json-flip-${k}`,
        'corruption',
        kind,
        (files, modelDir) => fs.writeFileSync(path.join(modelDir, 'model.json'), bytes),
        {
          exit: 'any',
          culprits: ['model.json', 'weights.bin', 'weightsManifest', 'input', 'layer', 'class', 'op', 'shape'],
        },
      );
    }
    for (const delta of [-1, -4, -40, 4, 1000]) {
      b.model(
        `corrupt-${kind}-shard-${delta < 0 ? 'short' : 'long'}-${Math.abs(delta)}`,
        'corruption',
        kind,
        (files) => {
          files.weights =
            delta < 0 ? files.weights.subarray(0, files.weights.length + delta) : Buffer.concat([files.weights, Buffer.alloc(delta)]);
        },
        { culprits: ['weights.bin'], message: delta < 0 ? /short by/ : /extra bytes/ },
      );
    }
    b.model(`corrupt-${kind}-shard-missing`, 'corruption', kind, (files) => setShard(files, 'gone.bin'), {
      culprits: ['gone.bin'],
      message: /missing weight shard/,
    });
    b.model(`corrupt-${kind}-shard-empty`, 'corruption', kind, (files) => (files.weights = Buffer.alloc(0)), { culprits: ['weights.bin'] });
    b.model(
      `corrupt-${kind}-weights-nan`,
      'corruption',
      kind,
      (files) => (files.weights = Buffer.from(new Float32Array(files.weights.length / 4).fill(NaN).buffer)),
      {
        culprits: ['input.'],
        message: /NaN|non-finite|finite/,
      },
    );
  }
  imageCorruption(b);
  tableCorruption(b);
}

function imageCorruption(b: CorpusBuilder): void {
  const image = (id: string, name: string, bytes: Buffer, exit: Case['exit'] = 1) =>
    b.model(id, 'corruption', 'cnn', () => {}, {
      input: (dir) => {
        fs.writeFileSync(path.join(dir, name), bytes);
        return path.join(dir, name);
      },
      culprits: [name],
      exit,
    });
  const png = pngBytes(16, 16);
  const jpg = jpegBytes(16, 16);
  for (const at of [9, 16, 20, 30, 33, 40, 60, png.length - 12, png.length - 4, png.length - 1])
    image(`corrupt-png-cut-${at}`, 'cut.png', png.subarray(0, at), at >= png.length - 4 ? 'any' : 1);
  for (const at of [3, 10, 50, 100, 200, Math.floor(jpg.length / 2), jpg.length - 2])
    image(`corrupt-jpeg-cut-${at}`, 'cut.jpg', jpg.subarray(0, at), 'any');
  const random = rng(77);
  for (let k = 0; k < 12; k++) {
    const p = Buffer.from(png);
    const j = Buffer.from(jpg);
    for (let f = 0; f < 3; f++) {
      p[8 + Math.floor(random() * (p.length - 8))] = Math.floor(random() * 256);
      j[3 + Math.floor(random() * (j.length - 3))] = Math.floor(random() * 256);
    }
    image(`corrupt-png-flip-${k}`, 'flip.png', p, 'any');
    image(`corrupt-jpeg-flip-${k}`, 'flip.jpg', j, 'any');
  }
  image('corrupt-png-named-jpg-text', 'text.png', Buffer.from('hello, not an image'));
  image('corrupt-random-bytes-png', 'noise.png', Buffer.from(Array.from({ length: 300 }, () => Math.floor(random() * 256))));
  image('corrupt-gif-as-png', 'anim.png', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;'));
}

function tableCorruption(b: CorpusBuilder): void {
  const input = (id: string, name: string, text: string, culprit = name) =>
    b.model(id, 'corruption', 'dense', () => {}, {
      input: (dir) => {
        fs.writeFileSync(path.join(dir, name), text);
        return path.join(dir, name);
      },
      culprits: [culprit],
    });
  input('corrupt-json-input-ragged', 'ragged.json', '[[1,2,3,4],[1,2]]');
  input('corrupt-json-input-string', 'str.json', '[1,"2",3,4]');
  input('corrupt-json-input-null', 'null.json', '[1,null,3,4]');
  input('corrupt-json-input-wrong-shape', 'shape.json', '[1,2,3]');
  input('corrupt-json-input-object', 'obj.json', '{"x":[1,2,3,4]}');
  input('corrupt-json-input-empty', 'empty.json', '');
  input('corrupt-json-input-cut', 'cut.json', '[1,2,3');
  input('corrupt-json-input-huge-number', 'big.json', '[1e400,2,3,4]');
  input('corrupt-csv-wrong-columns', 'wide.csv', 'a,b,c\n1,2,3\n');
  input('corrupt-csv-text-cell', 'text.csv', '1,2,x,4\n');
  input('corrupt-csv-empty', 'empty.csv', '');
  input('corrupt-csv-header-only', 'header.csv', 'a,b,c,d\n');
  input('corrupt-csv-ragged-row', 'ragged.csv', 'a,b,c,d\n1,2,3,4\n1,2\n');
  input('corrupt-csv-binary', 'bin.csv', '\0\0\0\x01\x02');
  input('corrupt-unknown-extension', 'data.txt', '1,2,3,4', 'data.txt');
}

/** Builds the whole corpus under `root` and returns its cases. */
export function buildCorpus(root: string): Case[] {
  const b = new CorpusBuilder(root);
  securityCases(b);
  budgetCases(b);
  hangCases(b);
  rawErrorCases(b);
  silentCases(b);
  corruptionCases(b);
  // A sample of the fuzzed files also goes through the real CLI.
  b.cases.filter((c) => c.category === 'corruption').forEach((c, i) => (c.spawn ||= i % 20 === 0));
  return b.cases;
}

export function countByCategory(cases: readonly Case[]): Record<Category, number> {
  const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  for (const c of cases) counts[c.category]++;
  return counts;
}

if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? 'hostile-corpus');
  const cases = buildCorpus(root);
  fs.writeFileSync(
    path.join(root, 'cases.json'),
    JSON.stringify(cases, (k, v) => (v instanceof RegExp ? String(v) : v), 2),
  );
  process.stdout.write(`${cases.length} cases in ${root}: ${JSON.stringify(countByCategory(cases))}\n`);
}
