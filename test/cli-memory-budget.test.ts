/**
 * `--memory-budget-mb` has the bounds of the extension's `pathlens.memoryBudgetMB` setting, from one
 * shared constant: every command that takes the flag refuses a value outside them with one line
 * (exit 2 from the real CLI, with the usage hint), and package.json's setting schema states the same numbers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommand, UsageError } from '../src/cli/args';
import { DEFAULT_SETTINGS, readSettings } from '../src/extension/settings';
import { DEFAULT_MEMORY_BUDGET_MB, MAX_MEMORY_BUDGET_MB, MAX_STEPS, MAX_WORKERS, MIN_MEMORY_BUDGET_MB } from '../src/shared/limits';
import { pathlens, ROOT } from './helpers/cli';

const COMMANDS: Record<string, string[]> = {
  explain: ['explain', '--model', 'm.json', '--input', 'x.png'],
  sanity: ['sanity', '--model', 'm.json', '--input', 'x.png', '--method', 'gradient', '--check', 'cascading'],
  evaluate: ['evaluate', '--model', 'm.json', '--input', 'x.png', '--method', 'gradient'],
  neurons: ['neurons', '--model', 'm.json', '--input', 'x.png', '--layer', 'conv2d_1'],
  'patterns fit': ['patterns', 'fit', '--model', 'm.json', '--data', 'd.csv'],
};

/** The job's memory budget of a parsed command, whatever its kind. */
function budgetOf(args: string[]): unknown {
  const command = parseCommand(args) as unknown as { job?: { memoryBudgetMB?: number } };
  return command.job?.memoryBudgetMB;
}

describe('--memory-budget-mb', () => {
  for (const [name, args] of Object.entries(COMMANDS)) {
    it(`${name}: takes ${MIN_MEMORY_BUDGET_MB} and ${MAX_MEMORY_BUDGET_MB} MB, refuses values outside them with one line`, () => {
      expect(budgetOf([...args, '--memory-budget-mb', String(MIN_MEMORY_BUDGET_MB)])).toBe(MIN_MEMORY_BUDGET_MB);
      expect(budgetOf([...args, '--memory-budget-mb', String(MAX_MEMORY_BUDGET_MB)])).toBe(MAX_MEMORY_BUDGET_MB);
      expect(budgetOf(args)).toBeUndefined();
      for (const bad of [String(MIN_MEMORY_BUDGET_MB - 1), String(MAX_MEMORY_BUDGET_MB + 1), '0', '-5', '100.5', 'lots']) {
        const parse = () => parseCommand([...args, `--memory-budget-mb=${bad}`]);
        expect(parse, bad).toThrow(UsageError);
        expect(parse, bad).toThrow(
          bad === 'lots'
            ? `--memory-budget-mb must be a number (got 'lots')`
            : `--memory-budget-mb must be a whole number of MB from ${MIN_MEMORY_BUDGET_MB} to ${MAX_MEMORY_BUDGET_MB} (got '${bad}')`,
        );
      }
    });
  }

  it('the real CLI exits 2 with that line before reading the model', () => {
    const run = pathlens(...COMMANDS.explain!, '--memory-budget-mb', '8');
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      `pathlens: --memory-budget-mb must be a whole number of MB from 16 to 65536 (got '8')`,
      "Run 'pathlens help' for usage.",
    ]);
  });

  it('the extension setting has the same bounds and default: package.json schema and readSettings', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { minimum?: number; maximum?: number; default?: number }> } };
    };
    const setting = manifest.contributes.configuration.properties['pathlens.memoryBudgetMB'];
    expect(setting).toMatchObject({ minimum: MIN_MEMORY_BUDGET_MB, maximum: MAX_MEMORY_BUDGET_MB, default: DEFAULT_MEMORY_BUDGET_MB });
    expect(DEFAULT_SETTINGS.memoryBudgetMB).toBe(DEFAULT_MEMORY_BUDGET_MB);
    const read = (memoryBudgetMB: number) =>
      readSettings((key) => (key === 'memoryBudgetMB' ? memoryBudgetMB : undefined), []).memoryBudgetMB;
    expect(read(MIN_MEMORY_BUDGET_MB)).toBe(MIN_MEMORY_BUDGET_MB);
    expect(read(MAX_MEMORY_BUDGET_MB)).toBe(MAX_MEMORY_BUDGET_MB);
    expect(read(MIN_MEMORY_BUDGET_MB - 1)).toBe(DEFAULT_MEMORY_BUDGET_MB);
    expect(read(MAX_MEMORY_BUDGET_MB + 1)).toBe(DEFAULT_MEMORY_BUDGET_MB);
  });

  it('the steps and workers settings share the CLI limits: package.json schema and readSettings', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { minimum?: number; maximum?: number }> } };
    };
    const properties = manifest.contributes.configuration.properties;
    expect(properties['pathlens.ig.steps']).toMatchObject({ minimum: 1, maximum: MAX_STEPS });
    expect(properties['pathlens.workers']).toMatchObject({ minimum: 0, maximum: MAX_WORKERS });
    const read = (key: string, value: number) => readSettings((k) => (k === key ? value : undefined), []);
    expect(read('ig.steps', MAX_STEPS).igSteps).toBe(MAX_STEPS);
    expect(read('ig.steps', MAX_STEPS + 1).igSteps).toBe(DEFAULT_SETTINGS.igSteps);
    expect(read('workers', MAX_WORKERS).workers).toBe(MAX_WORKERS);
    expect(read('workers', MAX_WORKERS + 1).workers).toBe(DEFAULT_SETTINGS.workers);
  });
});
