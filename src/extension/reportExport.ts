/**
 * The panel's exports: a PNG the webview rendered (written as it is), and the result as result.json
 * or the self-contained HTML report, which a worker writes (PNG encoding never runs on the host's
 * thread) under a cancellable progress notification.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { inputStem } from '../shared/fileNames';
import type { WebviewToHost } from '../shared/protocol';
import type { ExplainResult } from '../shared/types';
import type { EvaluateReport } from '../shared/evaluate';
import type { Log } from './log';
import { notificationProgress } from './progress';
import { toWireError, type HostWorker } from './worker';

type ExportMessage = Extract<WebviewToHost, { type: 'export' }>;

export interface ExportContext {
  worker: HostWorker;
  log: Log;
  /** Where the save dialog starts for a file of this name (the model's workspace folder). */
  defaultUri(fileName: string): vscode.Uri;
  /** The panel's finished result, if any. */
  result(): ExplainResult | null;
  /** The Evaluate view's finished evaluation of these maps, if any (the HTML report gets its section). */
  evaluation?(): EvaluateReport | undefined;
}

export async function exportFromPanel(message: ExportMessage, ctx: ExportContext): Promise<void> {
  if (message.format === 'png') return exportPng(message.fileName, message.dataUrl, ctx);
  const result = ctx.result();
  if (!result) {
    void vscode.window.showWarningMessage(
      'PathLens: there are no results to export yet (after a window reload, run the explanation again).',
    );
    return;
  }
  const stem = result.inputs.length === 1 ? `pathlens-${inputStem(result.inputs[0]!.path)}` : 'pathlens-report';
  const html = message.format === 'html';
  const target = await vscode.window.showSaveDialog({
    defaultUri: ctx.defaultUri(`${stem}.${message.format}`),
    filters: html ? { HTML: ['html'] } : { JSON: ['json'] },
    title: html ? 'Export PathLens report' : 'Export PathLens results',
  });
  if (!target) return;
  if (!(await writeInWorker(result, message.format, target, ctx)) || !html) return;
  const choice = await vscode.window.showInformationMessage(
    `PathLens: report saved to ${path.basename(target.fsPath)}.`,
    'Open in Browser',
  );
  if (choice) void vscode.env.openExternal(target);
}

async function exportPng(fileName: string, dataUrl: string, ctx: ExportContext): Promise<void> {
  const target = await vscode.window.showSaveDialog({
    defaultUri: ctx.defaultUri(fileName),
    filters: { 'PNG image': ['png'] },
    title: 'Export attribution map',
  });
  if (!target) return;
  const bytes = Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64');
  await vscode.workspace.fs.writeFile(target, bytes);
  ctx.log.info(`exported ${target.fsPath} (${bytes.length} bytes)`);
}

/** Runs the export job with a cancellable progress notification; true when the file was written. */
async function writeInWorker(result: ExplainResult, format: 'html' | 'json', target: vscode.Uri, ctx: ExportContext): Promise<boolean> {
  const title = `PathLens: writing ${path.basename(target.fsPath)}`;
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const bar = notificationProgress(progress);
      const evaluation = format === 'html' ? ctx.evaluation?.() : undefined;
      const job = ctx.worker.exportReport({ result, format, file: target.fsPath, ...(evaluation ? { evaluation } : {}) }, (event) => {
        if (event.kind === 'progress') bar.report(event.progress);
      });
      const onCancel = token.onCancellationRequested(() => job.cancel());
      try {
        const written = await job.result;
        ctx.log.info(`exported ${written.file} (${written.bytes} bytes)`);
        return true;
      } catch (err) {
        const wire = toWireError(err);
        if (wire.code === 'cancelled') ctx.log.info(`export of ${target.fsPath} cancelled`);
        else ctx.log.notifyError(`export failed: ${wire.message}`, wire.code === 'internal' ? wire.stack : undefined);
        return false;
      } finally {
        onCancel.dispose();
      }
    },
  );
}
