import { afterEach, describe, expect, it } from 'vitest';
import type { AttributionMethod } from '../src/core/attribution/method';
import { registerMethod } from '../src/core/methods';
import { describeMethods } from '../src/core/methods/catalog';
import { helpJson, helpText, parseCommand, UsageError } from '../src/cli/args';

/** A throwaway definition: its parameters must reach the CLI parser, its validation, help and the catalog. */
const wobble: AttributionMethod = {
  name: 'throwaway-wobble',
  title: 'Throwaway Wobble',
  description: 'A test-only method.',
  complete: false,
  parameters: [
    {
      name: 'wobbleWidth',
      label: 'Wobble width',
      description: 'How far it wobbles.',
      type: 'number',
      default: 1,
      min: 0,
      max: 2,
      unit: 'px',
    },
    { name: 'wobbleKind', label: 'Kind', description: 'Which wobble.', type: 'choice', default: 'soft', choices: ['soft', 'hard'] },
  ],
  run() {
    throw new Error('never run');
  },
};

let unregister: (() => void) | undefined;
afterEach(() => unregister?.());

const explain = (...flags: string[]) => parseCommand(['explain', '--model', 'm.json', '--input', 'x', '--method', wobble.name, ...flags]);

describe('a method is one definition', () => {
  it('is unknown to the CLI before it is registered', () => {
    expect(() => explain('--wobble-width', '1')).toThrow(UsageError);
  });

  it('reaches the CLI flags, their validation, help, help --json and the panel catalog', () => {
    unregister = registerMethod(wobble);
    const command = explain('--wobble-width', '1.5', '--wobble-kind', 'hard');
    expect(command.kind === 'explain' && command.job.options).toMatchObject({ wobbleWidth: 1.5, wobbleKind: 'hard' });
    expect(() => explain('--wobble-width', '3')).toThrow(/--wobble-width must be a number in \[0, 2\]/);
    expect(() => explain('--wobble-width', 'x')).toThrow(/--wobble-width must be a number/);
    expect(() => explain('--wobble-kind', 'odd')).toThrow(/--wobble-kind must be one of soft, hard/);
    expect(helpText()).toMatch(/--method <list>[^]*\n {25}throwaway-wobble\n {39}A test-only method\.\n/);
    expect(helpText()).toMatch(/throwaway-wobble\n\s+--wobble-width <number>\s+How far it wobbles\. \(default 1 px; \[0, 2\]\)/);
    const json = JSON.parse(helpJson()) as { methods: { name: string; parameters: { flag: string; unit?: string }[] }[] };
    const entry = json.methods.find((m) => m.name === wobble.name);
    expect(entry?.parameters.map((p) => p.flag)).toEqual(['--wobble-width', '--wobble-kind']);
    expect(entry?.parameters[0]?.unit).toBe('px');
    const info = describeMethods().find((m) => m.name === wobble.name);
    expect(info?.parameters.map((p) => p.name)).toEqual(['wobbleWidth', 'wobbleKind']);
  });

  it('checks every method against its own spec: guided-ig fraction in (0, 1], blur-ig max σ in [0.1, 500]', () => {
    expect(() => parseCommand(['explain', '--model', 'm', '--input', 'x', '--method', 'guided-ig', '--fraction', '0'])).toThrow(/\(0, 1\]/);
    expect(() => parseCommand(['explain', '--model', 'm', '--input', 'x', '--method', 'blur-ig', '--max-sigma', '0.05'])).toThrow(
      /\[0\.1, 500\]/,
    );
    expect(() => parseCommand(['explain', '--model', 'm', '--input', 'x', '--method', 'blur-ig', '--max-sigma', '0.5'])).not.toThrow();
  });

  it('help --json lists every registered method', () => {
    const json = JSON.parse(helpJson()) as { methods: { name: string }[] };
    expect(json.methods.map((m) => m.name)).toEqual(describeMethods().map((m) => m.name));
    expect(json.methods.length).toBeGreaterThanOrEqual(17);
  });
});
