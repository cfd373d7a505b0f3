/**
 * `pathlens` CLI entry: parses arguments, runs the job in the attribution worker, prints or writes
 * results. Exit codes: 0 success, 1 failure, 2 usage error.
 */
import * as path from 'node:path';
import { toJsonChunks } from '../core/report/json';
import { Float32TextCache } from '../core/report/float32Text';
import { writeReport } from '../core/report/write';
import type { ExplainResult, ModelSummary, Preprocessing } from '../shared/types';
import { WorkerClient, WorkerError } from '../worker/client';
import { errorLine } from './crashLog';
import { helpJson, helpText, parseCommand, UsageError, type Command } from './args';
import { runSanityCommand } from './sanity';
import { runNeuronsCommand } from './neurons';
import { runEvaluateCommand, runEvaluateMerge } from './evaluate';
import { progressPrinter } from './progress';
import { formatOnnxSummary } from './onnxInfo';
import { RunTimings } from './timings';
import { bootInfo } from '../worker/bootInfo';

// Imports run first: the time from the process's origin to here is Node's bootstrap plus this bundle's load.
const entryMs = performance.now();

const stderr = (line: string) => process.stderr.write(line + '\n');

function formatSummary(summary: ModelSummary, preprocessing: Preprocessing | null): string {
  const lines = [
    `${summary.path}`,
    `  format: ${summary.format}   parameters: ${summary.totalParams.toLocaleString('en-US')}   weights: ${summary.weightBytes.toLocaleString('en-US')} B`,
    ...(summary.source ? [`  source: ${summary.source}`] : []),
    ...(summary.onnx ? formatOnnxSummary(summary.onnx) : []),
    ...summary.inputs.map((t) => `  input  ${t.name}: [${t.shape.map((d) => d ?? '?').join(', ')}] ${t.dtype}`),
    ...summary.outputs.map((t) => `  output ${t.name}: [${t.shape.map((d) => d ?? '?').join(', ')}] ${t.dtype}`),
    `  final activation: ${summary.finalActivation ?? 'none (raw outputs)'}`,
    `  labels: ${summary.labels ? summary.labels.join(', ') : 'none'}${summary.labelsSource ? ` (${summary.labelsSource})` : ''}`,
    `  preprocessing: ${preprocessing ? `${preprocessing.name} (${preprocessing.source}; x = (pixel − [${preprocessing.mean.map((v) => +v.toFixed(4)).join(', ')}]) / [${preprocessing.std.map((v) => +v.toFixed(4)).join(', ')}])${preprocessing.reason ? `: ${preprocessing.reason}` : ''}` : 'none (inputs are used as given)'}`,
    `  layers (${summary.layers.length}):`,
    ...summary.layers.map(
      (l) =>
        `    ${l.name.padEnd(48)} ${l.className.padEnd(24)} ${(l.outputShape ? `[${l.outputShape.map((d) => d ?? '?').join(', ')}]` : '').padEnd(20)} ${l.params}`,
    ),
  ];
  return lines.join('\n');
}

function formatResults(result: ExplainResult): string {
  const lines = [
    `backend: ${result.backend}; preprocessing: ${result.preprocessing ? `${result.preprocessing.name} (${result.preprocessing.source})` : 'none'}`,
  ];
  for (const input of result.inputs) {
    if (input.error) {
      lines.push(`${input.path}: FAILED: ${input.error}`);
      continue;
    }
    const p = input.prediction;
    lines.push(
      `${input.path}: predicted ${p.label ?? p.index} (${p.score.toFixed(4)}); explaining ${input.target.label ?? input.target.index} (${input.target.output} ${input.target.score.toFixed(4)})`,
    );
    for (const r of input.results) {
      const c = r.completeness;
      const delta = c ? `δ ${c.delta.toExponential(2)} (${(c.relative * 100).toFixed(2)}% of ${c.expected.toFixed(4)})` : 'δ n/a';
      const a = r.accuracy;
      const map = a ? `map ±${(a.mapError * 100).toFixed(2)}%${a.converged ? '' : ' (not converged)'}` : '';
      lines.push(
        `  ${r.method.padEnd(14)} ${map.padEnd(28)} ${delta.padEnd(40)} ${r.timing.ms.toFixed(0)} ms, ${r.timing.evaluations} evaluations`,
      );
    }
  }
  return lines.join('\n');
}

/** `pathlens explain`: runs the job, writes the report, prints the results and any warnings. */
async function runExplainCommand(
  client: WorkerClient,
  command: Extract<Command, { kind: 'explain' }>,
  setRunning: (job: { cancel(): void }) => void,
): Promise<number> {
  const backend = await client.start();
  bootInfo()?.saveCodeCache(); // when due, while this thread waits for the job (see worker/boot.ts)
  if (!command.json) stderr(`pathlens: ${command.job.methods.join(', ')} on ${command.job.modelPath} (backend ${backend})`);
  const printProgress = progressPrinter(stderr);
  const timings = RunTimings.enabled() ? new RunTimings(entryMs) : null;
  timings?.submit();
  // --json: each map formatted as it arrives, while the pool computes the next ones.
  const formatted = command.json ? new Float32TextCache() : undefined;
  const job = client.explain(command.job, (event) => {
    if (event.kind === 'progress') printProgress(event.progress);
    else if (event.kind === 'result') formatted?.add(event.result.attribution.data);
    timings?.onEvent(event);
  });
  setRunning(job);
  const result = await job.result;
  timings?.done();
  if (command.out) {
    const files = await writeReport(command.out, result);
    stderr(`wrote ${files.length} files to ${path.resolve(command.out)}; open ${path.resolve(command.out, 'index.html')}`);
  }
  if (command.json) {
    // In pieces: the float32 maps as bytes, never one 20 MB string.
    for (const chunk of toJsonChunks(result, formatted)) process.stdout.write(chunk);
    process.stdout.write('\n');
  } else process.stdout.write(formatResults(result) + '\n');
  timings?.resultWritten();
  for (const input of result.inputs)
    for (const r of input.results)
      if (r.accuracy && !r.accuracy.converged)
        stderr(
          `pathlens: warning: ${input.path} ${r.method}: estimated map error ${(r.accuracy.mapError * 100).toFixed(1)} % did not reach the tolerance within the evaluation cap (raise --max-evaluations)`,
        );
  const failed = result.inputs.filter((i) => i.error);
  for (const f of failed) stderr(`pathlens: ${f.path}: ${f.error}`);
  if (timings) stderr(`pathlens timings: ${JSON.stringify(timings.report(client.startup))}`);
  return failed.length > 0 ? 1 : 0;
}

async function run(command: Exclude<Command, { kind: 'help' }>): Promise<number> {
  const client = new WorkerClient({
    backend: command.backend,
    // explain and evaluate compute on the pool threads: start them with the worker.
    prestartPool: command.kind === 'explain' || command.kind === 'evaluate',
    workers:
      command.kind === 'explain' || command.kind === 'evaluate' ? (command.kind === 'explain' ? command.workers : command.job.workers) : 1,
  });
  let running: { cancel(): void } | null = null;
  const onSigint = () => {
    stderr('cancelling…');
    running?.cancel();
  };
  process.on('SIGINT', onSigint);
  try {
    if (command.kind === 'info') {
      const job = client.info(command.modelPath);
      running = job;
      const { summary, preprocessing } = await job.result;
      process.stdout.write(
        (command.json ? JSON.stringify({ model: summary, preprocessing }, null, 2) : formatSummary(summary, preprocessing)) + '\n',
      );
      return 0;
    }
    if (command.kind === 'patterns-fit') {
      const backend = await client.start();
      stderr(
        `pathlens: fitting patterns (${command.job.estimator ?? 'two-component'}) for ${command.job.modelPath} on ${command.job.data.join(', ')} (backend ${backend})`,
      );
      const printProgress = progressPrinter(stderr);
      const job = client.fitPatterns(command.job, (event) => {
        if (event.kind === 'progress') printProgress(event.progress);
      });
      running = job;
      const fitted = await job.result;
      stderr(
        `pathlens: patterns saved to ${fitted.file} (${fitted.samples} samples, ${(fitted.ms / 1000).toFixed(1)} s); explain finds them beside the model`,
      );
      const lines = fitted.layers.map(
        (l) =>
          `  ${l.name.padEnd(32)} ${l.className.padEnd(18)} [${l.shape.join(', ')}] ${l.estimator}${l.foldedBatchNorm ? ` (+ ${l.foldedBatchNorm} folded)` : ''}`,
      );
      process.stdout.write((command.json ? JSON.stringify(fitted, null, 2) : [fitted.file, ...lines].join('\n')) + '\n');
      return 0;
    }
    if (command.kind === 'sanity') return await runSanityCommand(client, command, (job) => (running = job), stderr);
    if (command.kind === 'neurons') return await runNeuronsCommand(client, command, (job) => (running = job), stderr);
    if (command.kind === 'evaluate-merge') return runEvaluateMerge(command, stderr);
    if (command.kind === 'evaluate') return await runEvaluateCommand(client, command, (job) => (running = job), stderr);
    return await runExplainCommand(client, command, (job) => (running = job));
  } catch (err) {
    stderr(errorLine(err, process.argv.slice(2)));
    if (command.verbose) stderr((err instanceof WorkerError && err.workerStack) || (err as Error).stack || '');
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    await client.dispose();
  }
}

export async function main(argv: string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      stderr(`pathlens: ${err.message}\nRun 'pathlens help' for usage.`);
      return 2;
    }
    throw err;
  }
  if (command.kind === 'help') {
    process.stdout.write(command.json === true ? helpJson() : helpText());
    return 0;
  }
  return run(command);
}

if (require.main === module) {
  // exitCode rather than exit(): a piped stdout is written asynchronously and exit() would cut it short.
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // The first run of this build leaves its compiled code for the next (dist/cli.js: worker/boot.ts).
      bootInfo()?.saveCodeCache();
    },
    (err: unknown) => {
      stderr(errorLine(err, process.argv.slice(2)));
      process.exitCode = 1;
    },
  );
}
