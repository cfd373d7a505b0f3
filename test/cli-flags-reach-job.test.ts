import { describe, expect, it } from 'vitest';
import { helpText, parseCommand, type Command } from '../src/cli/args';
import { methodParameterFlags } from '../src/cli/flags';
import { METHODS } from '../src/core/methods';
import { NEED_OPTIONS, type ParameterSpec, type ParameterValue } from '../src/shared/methods';

/** Every `--flag` of `explain` in the help text: its options and the method parameters. */
function explainHelpFlags(): string[] {
  const text = helpText();
  const section = text.slice(text.indexOf('explain options:'), text.indexOf('\nInputs:'));
  expect(section.length).toBeGreaterThan(1000);
  return [...new Set([...section.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!))];
}

/** A valid value for a parameter flag (ig's own spec when ig declares it: explain's default method) and its typed form. */
function sampleValue(specs: ParameterSpec[]): { args: string[]; value: ParameterValue } {
  const spec = METHODS.get('ig')!.parameters.find((p) => p.name === specs[0]!.name) ?? specs[0]!;
  if (spec.type === 'boolean') return { args: [], value: true };
  if (spec.type === 'string') return { args: ['some-value:1'], value: 'some-value:1' };
  if (spec.type === 'choice') {
    const choice = spec.choices!.find((c) => c !== spec.default) ?? String(spec.default);
    return { args: [choice], value: choice };
  }
  const n = Math.min(spec.max ?? Infinity, Math.max(Number(spec.default), spec.min ?? -Infinity) + (spec.type === 'integer' ? 1 : 0));
  return { args: [String(n)], value: n };
}

/** Flags valid only beside another (IDGI needs a rule with segment end points, not ig's adaptive default). */
const COMPANIONS: Record<string, string[]> = { idgi: ['--rule', 'trapezoid'] };

const BASES: Record<string, string[]> = {
  explain: ['explain', '--model', 'm.json', '--input', 'x.png'],
  sanity: ['sanity', '--model', 'm.json', '--input', 'x.png', '--method', 'ig'],
  evaluate: ['evaluate', '--model', 'm.json', '--input', 'x.png', '--method', 'ig'],
};

function optionsOf(command: Command): Record<string, unknown> {
  if (command.kind === 'explain' || command.kind === 'sanity' || command.kind === 'evaluate') return command.job.options;
  throw new Error(`unexpected command ${command.kind}`);
}

/** Values for explain's own flags; each must change the parsed command. */
const RUN_FLAG_VALUES: Record<string, string[]> = {
  model: ['other.json'],
  input: ['y.png'],
  method: ['gradient'],
  target: ['3'],
  output: ['probability'],
  preprocess: ['signed'],
  backend: ['cpu'],
  'memory-budget-mb': ['256'],
  workers: ['2'],
  'max-rows': ['5'],
  out: ['report'],
  json: [],
  verbose: [],
};

describe('every flag in the help text reaches the job', () => {
  const byFlag = methodParameterFlags();
  const needOptions = Object.values(NEED_OPTIONS) as string[];

  it.each(Object.keys(BASES))('%s: every method parameter and every option naming a need lands in the job options', (command) => {
    for (const [flag, specs] of byFlag) {
      const { args, value } = sampleValue(specs);
      const argv = [...BASES[command]!, ...(COMPANIONS[flag] ?? []), `--${flag}`, ...args];
      expect(optionsOf(parseCommand(argv))[specs[0]!.name], `--${flag}`).toEqual(value);
    }
    for (const option of needOptions) {
      expect(optionsOf(parseCommand([...BASES[command]!, `--${option}`, 'file.bin']))[option], `--${option}`).toBe('file.bin');
    }
  });

  it('explain: each flag the help names is a method parameter, a need, or changes the command', () => {
    const flags = explainHelpFlags();
    for (const expected of ['patterns', 'reference', 'baseline', 'neuron', 'idgi', 'wrap', 'steps', 'seed'])
      expect(flags).toContain(expected);
    const plain = parseCommand(BASES.explain!);
    for (const flag of flags) {
      if (byFlag.has(flag) || needOptions.includes(flag)) continue;
      const values = RUN_FLAG_VALUES[flag];
      expect(values, `--${flag} is in the help text but neither a method parameter, a need nor a known run flag`).toBeDefined();
      expect(parseCommand([...BASES.explain!, `--${flag}`, ...values!]), `--${flag}`).not.toEqual(plain);
    }
  });
});
