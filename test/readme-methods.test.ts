/**
 * The README's method table and the `--steps` help line are derived from the method definitions:
 * they name exactly the registered methods with their defaults, and a newly registered method shows
 * up in both (so neither is a hand-kept copy that can drift).
 */
import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { AttributionMethod } from '../src/core/attribution/method';
import { METHODS, registerMethod } from '../src/core/methods';
import { describeMethods } from '../src/core/methods/catalog';
import { helpText } from '../src/cli/args';
import { flagOf, NEED_OPTIONS } from '../src/shared/methods';
import { END, methodsTable, README, START, withMethodsTable } from '../scripts/readme-methods';

const throwaway: AttributionMethod = {
  name: 'throwaway-stepper',
  title: 'Throwaway Stepper',
  description: 'A test-only method with steps.',
  complete: false,
  parameters: [
    { name: 'steps', label: 'Steps', description: 'Points.', type: 'integer', default: 77, min: 1, max: 4096 },
    { name: 'wobble', label: 'Wobble', description: 'A switch.', type: 'boolean', default: false },
  ],
  run() {
    throw new Error('never run');
  },
};

let unregister: (() => void) | undefined;
afterEach(() => {
  unregister?.();
  unregister = undefined;
});

/** The README's table rows: method name → the row's text. */
function readmeRows(): Map<string, string> {
  const readme = fs.readFileSync(README, 'utf8');
  const section = readme.slice(readme.indexOf(START), readme.indexOf(END));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const name = /^\| `([^`]+)` \|/.exec(line)?.[1];
    if (name) rows.set(name, line);
  }
  return rows;
}

/** The help text's `--steps` entry: from its flag line to the next flag. */
function stepsHelp(): string {
  const text = helpText();
  const at = text.indexOf('  --steps <n>');
  return text.slice(at, text.indexOf('\n  --', at + 1));
}

describe('README method table', () => {
  it('is the section the generator writes from the definitions (npx tsx scripts/readme-methods.ts --write)', () => {
    const readme = fs.readFileSync(README, 'utf8');
    const section = readme.slice(readme.indexOf(START), readme.indexOf(END) + END.length);
    expect(section).toBe(methodsTable(describeMethods()));
  });

  it('names exactly the registered methods, in order, each with every flag default of its definition', () => {
    const rows = readmeRows();
    expect([...rows.keys()]).toEqual([...METHODS.keys()]);
    for (const method of METHODS.values()) {
      const row = rows.get(method.name)!;
      expect(row, method.name).toContain(method.complete ? '| yes |' : '| no |');
      for (const p of method.parameters) {
        const flag = `--${flagOf(p)}`;
        if (Object.values<string>(NEED_OPTIONS).includes(flagOf(p))) expect(row).toContain(`\`${flag}\``);
        else if (p.type === 'boolean') expect(row, `${method.name} ${flag}`).toContain(`\`${flag}\` (${p.default ? 'on' : 'off'})`);
        else if (p.default !== '') expect(row, `${method.name} ${flag}`).toContain(`\`${flag} ${String(p.default)}\``);
        else expect(row, `${method.name} ${flag}`).toContain(`\`${flag} <${p.type}>\``);
      }
    }
  });

  it('goes stale when a method is registered: the generated section then differs from the README', () => {
    const readme = fs.readFileSync(README, 'utf8');
    unregister = registerMethod(throwaway);
    const table = methodsTable(describeMethods());
    expect(table).toContain('| `throwaway-stepper` | Throwaway Stepper | no | — | `--steps 77`, `--wobble` (off) |');
    expect(withMethodsTable(readme, describeMethods())).not.toEqual(readme);
  });
});

describe('--steps help line', () => {
  it("lists each method that has --steps with its definition's default, wrapped within 104 columns", () => {
    const help = stepsHelp();
    const withSteps = [...METHODS.values()].filter((m) => m.parameters.some((p) => flagOf(p) === 'steps'));
    expect(withSteps.length).toBeGreaterThanOrEqual(6);
    const listed = help.replace(/\s+/g, ' ');
    const expected = withSteps.map((m) => `${m.name} ${String(m.parameters.find((p) => flagOf(p) === 'steps')!.default)}`);
    expect(listed).toContain(`(${expected.join(', ')})`);
    for (const line of help.split('\n')) expect(line.length).toBeLessThanOrEqual(104);
  });

  it('picks up a newly registered method', () => {
    expect(stepsHelp()).not.toContain('throwaway-stepper');
    unregister = registerMethod(throwaway);
    expect(stepsHelp().replace(/\s+/g, ' ')).toContain('throwaway-stepper 77)');
  });
});
