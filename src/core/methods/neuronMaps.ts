/**
 * What one internal unit looks at (Lundstrom et al. 2022, ALGORITHMS.md §8), as input maps:
 * `neuron-conductance` is C_{k,·} (Σ = the unit's total conductance), `neuron-ig` is IG of the unit's
 * activation h_k (Captum NeuronIntegratedGradients). The unit is `--neuron <layer>:<row,col,channel>`
 * (or `<layer>:<k>` for a dense layer); the CLI maps `explain --neuron … --method conductance|ig` here.
 */
import {
  baselineParameter,
  requirePositiveInteger,
  type AttributionMethod,
  type MethodOptions,
  type ParameterSpec,
} from '../attribution/method';
import { PathLensError } from '../errors';
import { NEURON_DEFAULTS, unitMap, type UnitMapMethod } from '../neurons/analyze';
import { HALVING_FACTOR } from '../path/mapError';
import { quadrature, QUADRATURE_RULES } from '../path/quadrature';
import type { QuadratureRuleName } from '../types';

const parameters: ParameterSpec[] = [
  {
    name: 'neuron',
    label: 'Neuron',
    description: "The unit: <layer>:<row,col,channel> for a conv layer, <layer>:<k> for a dense one ('pathlens info' lists layers).",
    type: 'string',
    default: '',
  },
  { name: 'steps', label: 'Steps', description: 'Path points.', type: 'integer', default: NEURON_DEFAULTS.steps, min: 1, max: 4096 },
  {
    name: 'rule',
    label: 'Quadrature rule',
    description: 'How path points and weights are placed on [0, 1].',
    type: 'choice',
    default: NEURON_DEFAULTS.rule,
    choices: [...QUADRATURE_RULES],
  },
  baselineParameter(),
];

function parse(options: MethodOptions): { neuron: string; steps: number; rule: QuadratureRuleName } {
  const neuron = options.neuron;
  if (typeof neuron !== 'string' || neuron.trim() === '') {
    throw new PathLensError('usage', '--neuron <layer>:<index> is required for neuron maps (e.g. conv2d_1:7,8,5 or dense_1:7)');
  }
  const steps = requirePositiveInteger(options.steps ?? NEURON_DEFAULTS.steps, 'steps');
  const rule = (options.rule ?? NEURON_DEFAULTS.rule) as QuadratureRuleName;
  quadrature(rule, steps);
  return { neuron, steps, rule };
}

function neuronMethod(kind: UnitMapMethod): AttributionMethod {
  return {
    name: `neuron-${kind}`,
    mapError: { parameter: 'steps', factor: (params) => HALVING_FACTOR[String(params.rule)] ?? 1, basis: 'neuron map quadrature' },
    title: kind === 'ig' ? 'Neuron IG' : 'Neuron conductance',
    description:
      kind === 'ig'
        ? "IG of one internal unit's activation: what the unit responds to."
        : "One unit's share of IG over the input (Σ = the unit's total conductance).",
    complete: true,
    parameters,
    validate(options) {
      parse(options);
    },
    async run(context, options) {
      const { neuron, steps, rule } = parse(options);
      const baseline = await context.baseline(options.baseline ?? 'zero');
      return unitMap(
        context.evaluator.fn,
        context.evaluator,
        { input: context.input.data, baseline, inputValue: context.inputValue },
        { neuron, method: kind, steps, rule },
        context.input.shape,
      );
    },
  };
}

export const neuronConductance = neuronMethod('conductance');
export const neuronIg = neuronMethod('ig');
