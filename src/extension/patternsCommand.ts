/**
 * "PathLens: Fit Patterns…": fits the patterns PatternNet, PatternAttribution and PGIG need, for a
 * layers model, over a folder of images / a CSV / a JSON array file the user picks, in the attribution
 * worker with a cancellable progress notification. Self-contained so the host can register it:
 *
 *   context.subscriptions.push(registerFitPatternsCommand({
 *     fit: (job, listener) => hostWorker.fitPatterns(job, listener),   // → WorkerClient.fitPatterns
 *     log,
 *     preprocess: () => settings().preprocess,
 *   }));
 *
 * plus a `pathlens.fitPatterns` entry in package.json `contributes.commands` (title "PathLens: Fit
 * Patterns…", enablement isWorkspaceTrusted) and, optionally, the explorer context menu on model.json.
 * `offerFitPatterns` is what the explain flow calls when a pattern method fails for missing patterns.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PatternsFitJob, PatternsFitted, WorkerEvent } from '../shared/protocol';
import type { RunningJob } from '../worker/client';
import { notificationProgress } from './progress';
import { isModelFileName } from '../shared/fileNames';
import { MODEL_FILE_FILTERS } from './flows';

export interface FitPatternsDeps {
  fit(job: PatternsFitJob, listener: (event: WorkerEvent) => void): RunningJob<PatternsFitted>;
  log: { info(message: string): void; error(message: string, detail?: string): void };
  /** The preprocessing setting ('auto' = sidecar / detection / default). */
  preprocess(): string | undefined;
}

export { isMissingPatternsError } from './jobExtras';

async function pickModel(uri: vscode.Uri | undefined): Promise<vscode.Uri | undefined> {
  if (uri && (uri.fsPath.endsWith('.json') || isModelFileName(uri.fsPath))) return uri;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && isModelFileName(active.fsPath)) return active;
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: MODEL_FILE_FILTERS,
    openLabel: 'Fit patterns for this model',
  });
  return picked?.[0];
}

/** Runs the fit flow for a model (asks for data and estimator); resolves with the result or undefined. */
async function fitPatternsFlow(deps: FitPatternsDeps, modelUri?: vscode.Uri): Promise<PatternsFitted | undefined> {
  const model = await pickModel(modelUri);
  if (!model) return undefined;
  const data = await vscode.window.showOpenDialog({
    canSelectMany: true,
    canSelectFiles: true,
    canSelectFolders: true,
    defaultUri: vscode.Uri.file(path.dirname(model.fsPath)),
    openLabel: 'Fit on this data',
    title: 'Data to fit patterns on: a folder of images, a .csv table or a .json array file',
  });
  if (!data || data.length === 0) return undefined;
  const estimator = await vscode.window.showQuickPick(
    [
      { label: 'two-component', description: 'ReLU layers: signal where the unit is active (recommended)' },
      { label: 'linear', description: 'cov[x, y] / wᵀcov[x, y] for every layer' },
    ],
    { title: 'Pattern estimator' },
  );
  if (!estimator) return undefined;
  const preprocess = deps.preprocess();
  const job: PatternsFitJob = {
    modelPath: model.fsPath,
    data: data.map((d) => d.fsPath),
    estimator: estimator.label as PatternsFitJob['estimator'],
    ...(preprocess && preprocess !== 'auto' ? { preprocess } : {}),
  };
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `PathLens: fitting patterns for ${path.basename(path.dirname(model.fsPath))}`,
      cancellable: true,
    },
    async (progress, token) => {
      const bar = notificationProgress(progress, ({ done, total }) => `${done}/${total} samples`);
      const running = deps.fit(job, (event) => {
        if (event.kind === 'progress' && event.progress.total > 0) bar.report(event.progress);
      });
      token.onCancellationRequested(() => running.cancel());
      try {
        const fitted = await running.result;
        deps.log.info(`patterns fitted on ${fitted.samples} samples in ${fitted.ms} ms: ${fitted.file}`);
        void vscode.window.showInformationMessage(
          `PathLens: patterns fitted on ${fitted.samples} samples and saved beside the model (${path.basename(fitted.file)}).`,
        );
        return fitted;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (!token.isCancellationRequested) {
          deps.log.error(`fitting patterns failed: ${message}`, err instanceof Error ? err.stack : undefined);
          void vscode.window.showErrorMessage(`PathLens: ${message}`);
        }
        return undefined;
      }
    },
  );
}

/** Offered when a pattern method fails for want of patterns: true if the user fitted them (re-run then). */
export async function offerFitPatterns(deps: FitPatternsDeps, modelUri: vscode.Uri, message: string): Promise<boolean> {
  const choice = await vscode.window.showWarningMessage(`PathLens: ${message.split(';')[0]}.`, 'Fit Patterns…');
  if (choice !== 'Fit Patterns…') return false;
  return (await fitPatternsFlow(deps, modelUri)) !== undefined;
}

export function registerFitPatternsCommand(deps: FitPatternsDeps): vscode.Disposable {
  return vscode.commands.registerCommand('pathlens.fitPatterns', (uri?: vscode.Uri) => fitPatternsFlow(deps, uri));
}
