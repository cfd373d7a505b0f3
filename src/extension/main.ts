/**
 * PathLens extension entry: builds the services the commands share (log, method catalog, one
 * attribution worker, panels, pickers' memory), then registers the commands (commands.ts), the panel
 * serializer, the Model View custom editor and the settings listener. The host never loads TF.js: the
 * methods come as data (dist/methods.json) and every computation runs in the worker.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MethodCatalog } from '../shared/methods';
import type { ExplainJob } from '../shared/protocol';
import { registerCommands, type Services } from './commands';
import { RecentModels } from './discovery';
import { ReferenceSetMemory } from './jobExtras';
import { Log } from './log';
import { loadMethodCatalog } from './methodCatalog';
import { MODEL_VIEW_TYPE, ModelViewProvider } from './modelView';
import { PANEL_VIEW_TYPE, PanelManager } from './panel';
import { registerFitPatternsCommand } from './patternsCommand';
import { isBaselineFile, readSettings, type PathLensSettings } from './settings';
import { HostWorker, toWireError } from './worker';

export function activate(context: vscode.ExtensionContext): void {
  const log = new Log();
  context.subscriptions.push(log);
  log.info(
    `PathLens ${String(context.extension.packageJSON.version)} activated (VS Code ${vscode.version}, Node ${process.version}, ${vscode.workspace.isTrusted ? 'trusted' : 'restricted'} workspace)`,
  );
  const distDir = vscode.Uri.joinPath(context.extensionUri, 'dist').fsPath;
  const methods = loadMethodCatalog(distDir);
  const settings = (): PathLensSettings => readSettingsWith(methods);
  const worker = new HostWorker(distDir, settings, log);
  context.subscriptions.push({ dispose: () => void worker.dispose() });
  const panels = new PanelManager({
    extensionUri: context.extensionUri,
    worker,
    log,
    settings,
    prepareJob,
    workspaceState: context.workspaceState,
    methods,
  });
  const services: Services = {
    log,
    methods,
    panels,
    recent: new RecentModels(context.globalState),
    references: new ReferenceSetMemory(context.workspaceState),
    fitDeps: { fit: (job, listener) => worker.fitPatterns(job, listener), log, preprocess: () => settings().preprocess },
    settings,
    prepareJob,
  };
  context.subscriptions.push(
    panels,
    ...registerCommands(services),
    registerFitPatternsCommand(services.fitDeps),
    ...registerViews(context, services, worker),
  );
}

function readSettingsWith(methods: MethodCatalog): PathLensSettings {
  const config = vscode.workspace.getConfiguration('pathlens');
  return readSettings((key) => config.get(key), methods.names());
}

/** A relative baseline file setting is resolved against the model's workspace folder. */
function prepareJob(job: ExplainJob): ExplainJob {
  const baseline = job.options.baseline;
  if (typeof baseline === 'string' && isBaselineFile(baseline) && !path.isAbsolute(baseline)) {
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(job.modelPath))?.uri.fsPath ?? path.dirname(job.modelPath);
    return { ...job, options: { ...job.options, baseline: path.join(folder, baseline) } };
  }
  return job;
}

/** The panel serializer (panels survive a reload), the Model View editor and the settings listener. */
function registerViews(context: vscode.ExtensionContext, s: Services, worker: HostWorker): vscode.Disposable[] {
  return [
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
        try {
          s.panels.restore(panel, state);
        } catch (err) {
          s.log.error(`could not restore a panel: ${toWireError(err).message}`);
          panel.dispose();
        }
      },
    }),
    vscode.window.registerCustomEditorProvider(MODEL_VIEW_TYPE, new ModelViewProvider(context.extensionUri, worker, s.log), {
      supportsMultipleEditorsPerDocument: true,
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('pathlens')) return;
      s.log.info('settings changed');
      for (const p of s.panels.all()) p.postSettings();
    }),
  ];
}

export function deactivate(): void {}
