/**
 * Verdicts per method from the similarity series (thresholds in types.ts, DEFAULT_THRESHOLDS).
 * A null similarity (the map became constant, e.g. all gradients zero) counts as "changed" for the
 * randomization checks and as "unstable" for perturbation.
 */
import { METRIC_LABELS } from './metrics';
import type { SanityCheck, SanityStepResult, SanityThresholds, SanityVerdict } from './types';

const fmt = (v: number) => v.toFixed(2);

/**
 * When a magnitude metric stays high but the signed ranks changed, say so: the magnitude then follows
 * the input (e.g. zero pixels get zero IG / gradient through inactive ReLUs), the "input structure"
 * effect Adebayo et al. 2018 describe for Gradient⊙Input and IG.
 */
function signedNote(method: string, step: SanityStepResult, thresholds: SanityThresholds): string {
  if (thresholds.metric === 'spearmanSigned') return '';
  const signed = step.similarities[method]?.spearmanSigned;
  if (signed === null || signed === undefined || signed >= thresholds.randomization) return '';
  return `; the signed map did change (Spearman(attr) ${fmt(signed)}), so the magnitude pattern follows the input rather than the model (input-structure effect)`;
}
const pct = (level: number) => `${+(level * 100).toPrecision(3)}%`;

/** What every check's verdict needs: the method's similarity per step and the thresholds. */
interface VerdictInput {
  base: Pick<SanityVerdict, 'method' | 'check' | 'metric'>;
  method: string;
  label: string;
  thresholds: SanityThresholds;
  value(step: SanityStepResult): number | null;
  changed(v: number | null): boolean;
}

export function verdictFor(
  method: string,
  check: SanityCheck,
  steps: SanityStepResult[],
  thresholds: SanityThresholds,
  originalConstant: boolean,
): SanityVerdict {
  const metric = thresholds.metric;
  const base = { method, check, metric };
  if (originalConstant)
    return { ...base, status: 'inconclusive', reason: 'inconclusive: the original map is constant, so no similarity is defined' };
  if (steps.length === 0) return { ...base, status: 'inconclusive', reason: 'inconclusive: no steps were run' };
  const v: VerdictInput = {
    base,
    method,
    label: METRIC_LABELS[metric],
    thresholds,
    value: (s) => s.similarities[method]?.[metric] ?? null,
    changed: (x) => x === null || x < thresholds.randomization,
  };
  if (check === 'cascading') return cascadingVerdict(v, steps);
  if (check === 'independent') return independentVerdict(v, steps);
  return perturbationVerdict(v, steps);
}

function cascadingVerdict({ base, method, label, thresholds, value, changed }: VerdictInput, steps: SanityStepResult[]): SanityVerdict {
  const last = steps[steps.length - 1]!;
  const final = value(last);
  const finalText = final === null ? 'undefined (constant map)' : fmt(final);
  if (!changed(final)) {
    return {
      ...base,
      status: 'fail',
      reason: `fails randomization: ${label} stays ${finalText} after randomizing every layer (must fall below ${thresholds.randomization})${signedNote(method, last, thresholds)}`,
    };
  }
  const first = steps.find((s) => changed(value(s)))!;
  return {
    ...base,
    status: 'pass',
    reason: `passes: ${label} falls below ${thresholds.randomization} by layer ${first.layerIndex} of ${steps.length} (${first.label}); ${finalText} after randomizing every layer`,
  };
}

function independentVerdict({ base, method, label, thresholds, value, changed }: VerdictInput, steps: SanityStepResult[]): SanityVerdict {
  const sensitive = steps.filter((s) => changed(value(s)));
  const insensitive = steps.filter((s) => !changed(value(s)));
  const list = (ss: SanityStepResult[]) =>
    ss
      .map((s) => s.label)
      .slice(0, 6)
      .join(', ') + (ss.length > 6 ? ', …' : '');
  const share = sensitive.length / steps.length;
  if (share >= thresholds.independentShare) {
    return {
      ...base,
      status: 'pass',
      reason: `passes: randomizing ${sensitive.length} of ${steps.length} layers alone changes the map (${label} < ${thresholds.randomization})${insensitive.length ? `; insensitive to ${list(insensitive)}` : ''}`,
    };
  }
  return {
    ...base,
    status: 'fail',
    reason: `fails randomization: the map stays similar (${label} ≥ ${thresholds.randomization}) when randomizing ${insensitive.length} of ${steps.length} layers alone (${list(insensitive)})${signedNote(method, insensitive[0]!, thresholds)}`,
  };
}

/** Perturbation: levels in increasing order; levels without kept models carry no evidence. */
function perturbationVerdict({ base, label, thresholds, value }: VerdictInput, steps: SanityStepResult[]): SanityVerdict {
  const levels = [...steps].filter((s) => (s.draws?.kept ?? 0) > 0).sort((a, b) => a.level! - b.level!);
  if (levels.length === 0)
    return { ...base, status: 'inconclusive', reason: 'inconclusive: no perturbed model kept the prediction at any level' };
  const stable = (s: SanityStepResult) => {
    const v = value(s);
    return v !== null && v >= thresholds.stability;
  };
  if (!stable(levels[0]!)) {
    const v = value(levels[0]!);
    return {
      ...base,
      status: 'fail',
      reason: `fails perturbation: ${label} ${v === null ? 'undefined' : fmt(v)} already at ${pct(levels[0]!.level!)} noise (must stay ≥ ${thresholds.stability})`,
    };
  }
  let upTo = levels[0]!;
  for (const s of levels) {
    if (!stable(s)) break;
    upTo = s;
  }
  const broken = levels.find((s) => !stable(s));
  const skipped = steps.length - levels.length;
  return {
    ...base,
    status: 'pass',
    reason:
      `passes: stable under perturbation up to ${pct(upTo.level!)} (${label} ≥ ${thresholds.stability} on kept models)` +
      (broken ? `; ${fmt(value(broken) ?? NaN)} at ${pct(broken.level!)}` : '') +
      (skipped ? `; ${skipped} level(s) kept no model` : ''),
  };
}
