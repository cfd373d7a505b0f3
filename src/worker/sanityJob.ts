/**
 * The sanity-check job (ALGORITHMS.md §9) as the worker runs it: validate, load the (cached) model and
 * the one input, run the check, stream `sanity` events and progress.
 */
import { PathLensError } from '../shared/errors';
import { loadInputs } from '../core/input';
import { runSanity, validateSanityRequest, type SanityRequest } from '../core/sanity';
import type { SanityResult } from '../shared/sanity';
import type { CancellationSignal } from '../shared/types';
import type { SanityJob, WorkerEvent } from '../shared/protocol';
import { defaultCropFor } from '../core/model/sidecars';
import { bindInputShape } from '../core/model/inputLayout';
import {
  jobResources,
  ModelCache,
  parseBaseline,
  preprocessingFor,
  PROGRESS_INTERVAL_MS,
  refusePatternMethodsOnOnnx,
  throttle,
} from './jobs';

export function sanityRequestOf(job: SanityJob): SanityRequest {
  return {
    check: job.check,
    methods: job.methods,
    target: job.target,
    output: job.output,
    options: { ...job.options, baseline: parseBaseline(job.options.baseline) },
    memoryBudgetMB: job.memoryBudgetMB,
    seed: job.seed,
    levels: job.levels,
    draws: job.draws,
    thresholds: job.thresholds,
    topK: job.topK,
  };
}

export async function runSanityJob(
  jobId: number,
  job: SanityJob,
  cache: ModelCache,
  signal: CancellationSignal,
  emit: (event: WorkerEvent) => void,
): Promise<SanityResult> {
  const request = sanityRequestOf(job);
  validateSanityRequest(request);
  refusePatternMethodsOnOnnx(job.methods, job.modelPath);
  const cached = await cache.get(job.modelPath, job.memoryBudgetMB);
  const preprocessing = preprocessingFor(cached, job);
  const crop = defaultCropFor(job.modelPath);
  const inputs = await loadInputs([job.input], cached, preprocessing, { maxRows: 1, crop });
  if (inputs.length === 0) throw new PathLensError('input', `no usable input in ${job.input} (expected a .png, .jpg, .json or .csv file)`);
  if (inputs.length > 1)
    throw new PathLensError('usage', `a sanity check runs on one input; ${job.input} holds ${inputs.length} (name one file)`);
  const model = bindInputShape(cached, inputs);
  const seed = typeof job.options.seed === 'number' ? job.options.seed : 0;
  return runSanity(
    job.modelPath,
    model,
    inputs[0]!,
    request,
    {
      signal,
      onProgress: throttle(PROGRESS_INTERVAL_MS, (progress) => emit({ kind: 'progress', jobId, progress })),
      onEvent: (event) => emit({ kind: 'sanity', jobId, event }),
      ...jobResources(job.modelPath, model, preprocessing, seed),
    },
    preprocessing,
  );
}
