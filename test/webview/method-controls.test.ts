/**
 * The panel's parameter controls come from the method definition: a throwaway method registered in
 * the core reaches the panel through the catalog (describeMethods → MethodInfo) and shows one control
 * per parameter with its type, default and range; a change recomputes with the typed value.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttributionMethod } from '../../src/core/attribution/method';
import { registerMethod } from '../../src/core/methods';
import type { HostToWebview } from '../../src/shared/protocol';
import { choose, coreRun, panelSession } from './harness';

const ZOO = path.resolve(__dirname, '../../../shared/zoo');
const NAME = 'throwaway-ripple';

/** A test-only method: its map is the input itself; its parameters cover every spec type. */
const ripple: AttributionMethod = {
  name: NAME,
  title: 'Throwaway Ripple',
  description: 'A test-only method.',
  complete: false,
  parameters: [
    { name: 'rings', label: 'Rings', description: 'How many rings.', type: 'integer', default: 7, min: 2, max: 40 },
    {
      name: 'damping',
      label: 'Damping',
      description: 'How fast they fade.',
      type: 'number',
      default: 0.25,
      min: 0,
      minExclusive: true,
      max: 1,
      unit: 'px',
    },
    { name: 'inverted', label: 'Inverted', description: 'Flip the sign.', type: 'boolean', default: true },
    { name: 'shape', label: 'Shape', description: 'Ring shape.', type: 'choice', default: 'round', choices: ['round', 'square', 'star'] },
    { name: 'tag', label: 'Tag', description: 'A free label.', type: 'string', default: 'plain' },
  ],
  async run(context, options) {
    return {
      method: NAME,
      params: { rings: Number(options.rings ?? 7) },
      attribution: { shape: context.input.shape, data: Float32Array.from(context.input.data) },
      completeness: null,
      timing: { ms: 0, evaluations: 0 },
    };
  },
};

const session = panelSession();
let messages: HostToWebview[];
let unregister: (() => void) | undefined;

beforeAll(async () => {
  unregister = registerMethod(ripple);
  messages = (
    await coreRun({
      modelPath: path.join(ZOO, 'mnist-cnn/model.json'),
      inputs: [path.join(ZOO, 'mnist-cnn/samples/sample_digit.png')],
      methods: [NAME],
      target: 'top',
      output: 'logit',
      preprocess: 'raw255',
      options: {},
    })
  ).messages;
});

afterAll(() => unregister?.());

describe('panel controls are generated from the method definition', () => {
  it('a registered throwaway method shows one typed control per parameter, with defaults and ranges', async () => {
    const p = await session.open();
    const { page } = p;
    await p.send(messages);
    const section = page.locator(`[data-section="params-0-${NAME}"]`);
    await section.click({ position: { x: 30, y: 10 } });
    const control = (param: string) => page.getByTestId(`param-0-${NAME}-${param}`);

    // integer: a native number field with the spec's range and step 1; the result's value wins over the default
    await expect.poll(() => control('rings').getAttribute('type')).toBe('number');
    expect(await control('rings').getAttribute('min')).toBe('2');
    expect(await control('rings').getAttribute('max')).toBe('40');
    expect(await control('rings').getAttribute('step')).toBe('1');
    expect(await control('rings').locator('input').inputValue()).toBe('7');
    // number: a decimal text field (range checked by the panel), the default shown
    expect(await control('damping').getAttribute('inputmode')).toBe('decimal');
    expect(await control('damping').locator('input').inputValue()).toBe('0.25');
    // boolean: a checkbox in the default state
    expect(await control('inverted').evaluate((el) => (el as HTMLElement & { checked: boolean }).checked)).toBe(true);
    // choice: a select with exactly the spec's choices, the default selected
    const options = await control('shape')
      .locator('vscode-option')
      .evaluateAll((els) => els.map((e) => e.getAttribute('value')));
    expect(options).toEqual(['round', 'square', 'star']);
    expect(await control('shape').evaluate((el) => (el as HTMLElement & { value: string }).value)).toBe('round');
    // string: a text field with the default
    expect(await control('tag').evaluate((el) => (el as HTMLElement & { value: string }).value)).toBe('plain');
    // labels and help lines from the definition
    const help = await section.locator('.help').allTextContents();
    expect(help).toEqual([
      'How many rings. Default: 7; [2, 40].',
      'How fast they fade. Default: 0.25 px; (0, 1].',
      'Flip the sign. Default: true.',
      'Ring shape. Default: round.',
      'A free label. Default: plain.',
    ]);

    // Out of the spec's range: marked invalid, nothing recomputed.
    const rings = control('rings').locator('input');
    const before = (await p.posted()).length;
    await rings.fill('41');
    await rings.press('Tab');
    await expect.poll(() => control('rings').evaluate((el) => (el as HTMLElement & { invalid: boolean }).invalid)).toBe(true);
    const damping = control('damping').locator('input');
    await damping.fill('0');
    await damping.press('Tab');
    await expect.poll(() => control('damping').evaluate((el) => (el as HTMLElement & { invalid: boolean }).invalid)).toBe(true);
    expect((await p.posted()).length).toBe(before);
    // In range: a recompute with every parameter, typed as the spec says.
    await rings.fill('12');
    await rings.press('Tab');
    const defaults = { rings: 7, damping: 0.25, inverted: true, shape: 'round', tag: 'plain' };
    await expect
      .poll(async () => (await p.posted()).at(-1))
      .toEqual({ type: 'recompute', inputIndex: 0, method: NAME, params: { ...defaults, rings: 12 } });
    await choose(page, `param-0-${NAME}-shape`, 'star');
    await expect
      .poll(async () => (await p.posted()).at(-1))
      .toEqual({ type: 'recompute', inputIndex: 0, method: NAME, params: { ...defaults, rings: 12, shape: 'star' } });
  });
});
