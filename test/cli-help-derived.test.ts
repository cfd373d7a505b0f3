/**
 * The CLI's help lists and checks come from the constants the code uses (neuron defaults, quadrature
 * rules, step limit, baselines, backends, sanity checks, faithfulness metrics), not from copies.
 */
import { describe, expect, it } from 'vitest';
import { helpText, parseCommand, UsageError } from '../src/cli/args';
import { BACKENDS } from '../src/cli/flags';
import { METRIC_NAMES } from '../src/core/evaluate/metrics';
import { SANITY_CHECKS } from '../src/shared/sanity';
import { NAMED_BASELINES } from '../src/shared/types';
import { NEURONS_HELP } from '../src/cli/neurons';
import { NEURON_DEFAULTS } from '../src/core/neurons/analyze';
import { QUADRATURE_RULES } from '../src/core/path/quadrature';
import { MAX_STEPS } from '../src/core/safety/limits';

const neurons = (...flags: string[]) => parseCommand(['neurons', '--model', 'm.json', '--input', 'x.png', '--layer', 'conv2d_1', ...flags]);

describe('pathlens neurons flags', () => {
  it("help states the core's defaults, step limit and rules", () => {
    expect(NEURONS_HELP).toContain(`units listed (default: ${NEURON_DEFAULTS.top})`);
    expect(NEURONS_HELP).toContain(
      `path quadrature (default: ${NEURON_DEFAULTS.steps}, ${NEURON_DEFAULTS.rule}; at most ${MAX_STEPS} points;`,
    );
    expect(NEURONS_HELP.replace(/\s+/g, ' ')).toContain(QUADRATURE_RULES.join(' | '));
  });

  it('takes every quadrature rule and up to MAX_STEPS steps; refuses others with one line', () => {
    for (const rule of QUADRATURE_RULES) expect(neurons('--rule', rule)).toMatchObject({ job: { rule } });
    expect(neurons('--steps', String(MAX_STEPS))).toMatchObject({ job: { steps: MAX_STEPS } });
    expect(() => neurons('--steps', String(MAX_STEPS + 1))).toThrow(UsageError);
    expect(() => neurons('--steps', String(MAX_STEPS + 1))).toThrow(`--steps must be at most ${MAX_STEPS} (got ${MAX_STEPS + 1})`);
    expect(() => neurons('--rule', 'adaptive')).toThrow(`--rule must be one of ${QUADRATURE_RULES.join(', ')} (got 'adaptive')`);
  });
});

/** The text of a help entry: from its flag to the next flag, whitespace collapsed. */
function entry(flag: string, from = 0): string {
  const text = helpText();
  const at = text.indexOf(`\n  ${flag} `, from);
  expect(at, flag).toBeGreaterThan(0);
  return text.slice(at, text.indexOf('\n  --', at + 1)).replace(/\s+/g, ' ');
}

describe('explain, sanity and evaluate help', () => {
  it('lists the named baselines, backends, sanity checks and metrics the parsers accept', () => {
    expect(entry('--baseline <b>')).toContain(`${NAMED_BASELINES.join(' | ')} | <file.json|image>`);
    expect(entry('--backend <b>')).toContain(`${BACKENDS.join(' | ')} (default: auto`);
    expect(entry('--check <c>')).toContain(`${SANITY_CHECKS.join(' | ')} (default: cascading)`);
    expect(entry('--metric <list>')).toContain(`${METRIC_NAMES.join(',')} (default: all)`);
    expect(helpText()).toContain(`--check ${SANITY_CHECKS.join('|')}`);
    for (const check of SANITY_CHECKS)
      expect(parseCommand(['sanity', '--model', 'm', '--input', 'x', '--method', 'ig', '--check', check])).toMatchObject({
        job: { check },
      });
  });
});
