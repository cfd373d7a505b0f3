/**
 * The README's CLI synopsis ("## The CLI") is prose kept by hand, so it is checked against the code:
 * every flag it shows is one the CLI documents, every list of choices equals the constant the parser
 * checks against, and every method it names is registered.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpText } from '../src/cli/args';
import { BACKENDS } from '../src/cli/flags';
import { METRIC_NAMES } from '../src/core/evaluate/metrics';
import { PREPROCESS_PRESETS } from '../src/core/input/preprocess';
import { METHODS } from '../src/core/methods';
import { IG_RULES } from '../src/core/methods/ig';
import { NEURON_METHODS } from '../src/shared/neurons';
import { SANITY_CHECKS } from '../src/shared/sanity';
import { NAMED_BASELINES } from '../src/shared/types';

const README = fs.readFileSync(path.resolve(__dirname, '../README.md'), 'utf8');

/** The synopsis: the first sh block after the heading, one entry per `pathlens …` command (continuation lines joined). */
function synopsis(): string[] {
  const section = README.slice(README.indexOf('## The CLI'));
  const block = /```sh\n([^]*?)```/.exec(section)![1]!;
  return block.split(/\n(?=pathlens )/).map((command) => command.replace(/\s+/g, ' ').trim());
}

/** The alternatives the synopsis offers after `flag` (a|b|c or a,b,c), without placeholders like <file>. */
function choices(command: string, flag: string): string[] {
  const value = new RegExp(`${flag} ([^\\s\\]]+)`).exec(command)?.[1];
  expect(value, `${flag} in '${command}'`).toBeDefined();
  return value!
    .replace(/[a-z-]*:?<[^>]*>(\/<[^>]*>)?/g, '') // placeholders: <file.json|image>, mean-std:<m,m,m>/<s,s,s>
    .split(/[|,]/)
    .filter((v) => v !== '' && v !== '...');
}

const commandOf = (start: string) => synopsis().find((c) => c.startsWith(start))!;

describe('README CLI synopsis', () => {
  it('shows only flags the CLI documents', () => {
    const documented = new Set(helpText().match(/--[a-z][a-z-]*/g));
    const flags = new Set(synopsis().flatMap((c) => c.match(/--[a-z][a-z-]*/g) ?? []));
    expect(flags.size).toBeGreaterThan(20);
    expect([...flags].filter((flag) => !documented.has(flag))).toEqual([]);
  });

  it("lists exactly the parsers' choices for rules, baselines, backends, preprocessing, checks, metrics and neuron methods", () => {
    const explain = commandOf('pathlens explain --model');
    expect(choices(explain, '--rule')).toEqual([...IG_RULES]);
    expect(choices(explain, '--baseline')).toEqual([...NAMED_BASELINES]);
    expect(choices(explain, '--backend')).toEqual([...BACKENDS]);
    expect(choices(explain, '--output')).toEqual(['logit', 'probability']);
    expect(choices(explain, '--preprocess').sort()).toEqual([...PREPROCESS_PRESETS].sort());
    expect(choices(commandOf('pathlens sanity'), '--check')).toEqual([...SANITY_CHECKS]);
    expect(choices(commandOf('pathlens evaluate --model'), '--metric')).toEqual([...METRIC_NAMES]);
    expect(choices(commandOf('pathlens neurons'), '--method')).toEqual([...NEURON_METHODS]);
  });

  it('names registered methods only (the neuron maps by their --neuron short names)', () => {
    for (const name of choices(commandOf('pathlens explain --model'), '--method')) expect(METHODS.has(name), name).toBe(true);
    for (const name of choices(commandOf('pathlens explain ... --neuron'), '--method'))
      expect(METHODS.has(`neuron-${name}`), name).toBe(true);
    for (const name of choices(commandOf('pathlens sanity'), '--method')) expect(METHODS.has(name), name).toBe(true);
  });
});
