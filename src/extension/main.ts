/**
 * PathLens extension entry: commands (explain a model, explain an image with a model, model view,
 * cancel), the panel serializer, the Model View custom editor and the settings, wired to one
 * attribution worker. Pure logic lives in settings.ts, discovery.ts and runState.ts.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExplainJob } from '../shared/protocol';
import { inputsNearModel, isImageFile, RecentModels } from './discovery';
import { pickInputs, pickMethods, pickModel, pickOneInput, pickReferenceSet, pickSanityCheck } from './flows';
import { needsReferenceSet, ReferenceSetMemory, shouldOfferPatternFit } from './jobExtras';
import { offerFitPatterns, registerFitPatternsCommand, type FitPatternsDeps } from './patternsCommand';
import { buildSanityJob } from './sanityState';
import { Log } from './log';
import { allMethodNames } from './methodInfo';
import { MODEL_VIEW_TYPE, ModelViewProvider } from './modelView';
import { PANEL_VIEW_TYPE, PanelManager } from './panel';
import { buildJob, isBaselineFile, readSettings, type PathLensSettings } from './settings';
import { HostWorker, toWireError } from './worker';

interface ExplainOptions {
  /** Skip the pickers: the images beside the model and the default methods. */
  quick?: boolean;
}

function currentSettings(): PathLensSettings {
  const config = vscode.workspace.getConfiguration('pathlens');
  return readSettings((key) => config.get(key), allMethodNames());
}

/** The file of the active editor or tab (text editor, image preview, custom editor). */
function activeFile(): vscode.Uri | undefined {
  const editor = vscode.window.activeTextEditor;
  if (editor?.document.uri.scheme === 'file') return editor.document.uri;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input && typeof input === 'object' && 'uri' in input && input.uri instanceof vscode.Uri && input.uri.scheme === 'file')
    return input.uri;
  return undefined;
}

export function activate(context: vscode.ExtensionContext): void {
  const log = new Log();
  context.subscriptions.push(log);
  log.info(
    `PathLens ${String(context.extension.packageJSON.version)} activated (VS Code ${vscode.version}, Node ${process.version}, ${vscode.workspace.isTrusted ? 'trusted' : 'restricted'} workspace)`,
  );

  const distDir = vscode.Uri.joinPath(context.extensionUri, 'dist').fsPath;
  const worker = new HostWorker(distDir, currentSettings, log);
  context.subscriptions.push({ dispose: () => void worker.dispose() });
  const recent = new RecentModels(context.globalState);

  const prepareJob = (job: ExplainJob): ExplainJob => {
    const baseline = job.options.baseline;
    if (typeof baseline === 'string' && isBaselineFile(baseline) && !path.isAbsolute(baseline)) {
      const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(job.modelPath))?.uri.fsPath ?? path.dirname(job.modelPath);
      return { ...job, options: { ...job.options, baseline: path.join(folder, baseline) } };
    }
    return job;
  };

  const fitDeps: FitPatternsDeps = {
    fit: (job, listener) => worker.fitPatterns(job, listener),
    log,
    preprocess: () => currentSettings().preprocess,
  };
  const references = new ReferenceSetMemory(context.workspaceState);

  /**
   * Expected Gradients' reference set for the model: remembered per model (workspaceState), asked for
   * the first time. `{}` when no chosen method needs one; undefined when the user dismissed the picker.
   */
  const referenceOption = async (modelPath: string, methods: string[]): Promise<{ reference?: string } | undefined> => {
    if (!needsReferenceSet(methods)) return {};
    let reference = references.get(modelPath);
    if (!reference) {
      reference = await pickReferenceSet(modelPath);
      if (!reference) return undefined;
      await references.set(modelPath, reference);
      log.info(`Expected Gradients reference set for ${modelPath}: ${reference} (remembered for this model)`);
    }
    return { reference };
  };

  const panels = new PanelManager({
    extensionUri: context.extensionUri,
    worker,
    log,
    settings: currentSettings,
    prepareJob,
    workspaceState: context.workspaceState,
  });
  context.subscriptions.push(panels);

  const requireTrust = (): boolean => {
    if (vscode.workspace.isTrusted) return true;
    void vscode.window
      .showWarningMessage(
        'PathLens runs models only in trusted workspaces. Trust this workspace to explain predictions.',
        'Manage Workspace Trust',
      )
      .then((c) => {
        if (c) void vscode.commands.executeCommand('workbench.trust.manage');
      });
    return false;
  };

  /** Never lets an error escape into the host: it goes to the log and a notification. */
  const guarded =
    <A extends unknown[]>(name: string, fn: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await fn(...args);
      } catch (err) {
        const wire = toWireError(err);
        log.notifyError(`${name}: ${wire.message}`, wire.code === 'internal' ? wire.stack : undefined);
      }
    };

  const runExplain = async (modelUri: vscode.Uri, inputs: string[] | undefined, options: ExplainOptions): Promise<void> => {
    const modelPath = modelUri.fsPath;
    const settings = currentSettings();
    let chosenInputs = inputs;
    if (!chosenInputs) {
      if (options.quick) {
        chosenInputs = inputsNearModel(modelPath).filter(isImageFile).slice(0, 8);
        if (chosenInputs.length === 0) chosenInputs = inputsNearModel(modelPath).slice(0, 8);
        if (chosenInputs.length === 0) {
          void vscode.window.showWarningMessage('PathLens: no images or tables beside this model; use "Explain Prediction…" and Browse….');
          return;
        }
      } else chosenInputs = await pickInputs(modelPath);
    }
    if (!chosenInputs || chosenInputs.length === 0) return;
    const methods = options.quick ? settings.defaultMethods : await pickMethods(settings.defaultMethods);
    if (!methods || methods.length === 0) return;
    const extra = await referenceOption(modelPath, methods);
    if (!extra) return;
    await recent.add(modelPath);
    const job = prepareJob(buildJob(settings, modelPath, chosenInputs, methods, 'top', extra));
    const panel = panels.open(modelPath);
    const end = await panel.runFull(job);
    // PGIG / PatternNet / PatternAttribution without fitted patterns: offer to fit them, then re-run.
    if (end.error && shouldOfferPatternFit(job.methods, end.error) && (await offerFitPatterns(fitDeps, modelUri, end.error.message))) {
      panel.reveal();
      await panel.runFull(job);
    }
  };

  context.subscriptions.push(
    vscode.commands.registerCommand(
      'pathlens.explainModel',
      guarded('Explain Prediction', async (uri?: vscode.Uri, _selected?: vscode.Uri[], options: ExplainOptions = {}) => {
        if (!requireTrust()) return;
        let model = uri instanceof vscode.Uri ? uri : undefined;
        if (!model) {
          const active = activeFile();
          if (active && path.basename(active.fsPath) === 'model.json') model = active;
        }
        if (!model) {
          // From a PathLens panel: its model.
          const panel = panels.all().find((p) => p.panel.active);
          if (panel) model = vscode.Uri.file(panel.modelPath);
        }
        model ??= await pickModel(recent);
        if (!model) return;
        await runExplain(model, undefined, options && typeof options === 'object' ? options : {});
      }),
    ),
    vscode.commands.registerCommand(
      'pathlens.explainImage',
      guarded('Explain This Image', async (uri?: vscode.Uri, selected?: vscode.Uri[]) => {
        if (!requireTrust()) return;
        let images = (Array.isArray(selected) && selected.length > 0 ? selected : uri instanceof vscode.Uri ? [uri] : []).filter((u) =>
          isImageFile(u.fsPath),
        );
        if (images.length === 0) {
          const active = activeFile();
          if (active && isImageFile(active.fsPath)) images = [active];
        }
        if (images.length === 0) {
          images =
            (await vscode.window.showOpenDialog({
              canSelectMany: true,
              filters: { Images: ['png', 'jpg', 'jpeg'] },
              openLabel: 'Explain',
            })) ?? [];
        }
        if (images.length === 0) return;
        const model = await pickModel(recent);
        if (!model) return;
        await runExplain(
          model,
          images.map((u) => u.fsPath),
          {},
        );
      }),
    ),
    vscode.commands.registerCommand(
      'pathlens.showInfo',
      guarded('Show Model Summary', async (uri?: vscode.Uri) => {
        let model = uri instanceof vscode.Uri ? uri : undefined;
        if (!model) {
          const active = activeFile();
          if (active && active.fsPath.endsWith('.json')) model = active;
        }
        model ??= await pickModel(recent);
        if (model) await vscode.commands.executeCommand('vscode.openWith', model, MODEL_VIEW_TYPE);
      }),
    ),
    registerFitPatternsCommand(fitDeps),
    vscode.commands.registerCommand(
      'pathlens.sanityChecks',
      guarded('Run Sanity Checks', async (uri?: vscode.Uri) => {
        if (!requireTrust()) return;
        let model = uri instanceof vscode.Uri && path.basename(uri.fsPath) === 'model.json' ? uri : undefined;
        if (!model) {
          const active = activeFile();
          if (active && path.basename(active.fsPath) === 'model.json') model = active;
        }
        if (!model) {
          const panel = panels.all().find((p) => p.panel.active);
          if (panel) model = vscode.Uri.file(panel.modelPath);
        }
        model ??= await pickModel(recent);
        if (!model) return;
        const modelPath = model.fsPath;
        const input = await pickOneInput(modelPath);
        if (!input) return;
        const settings = currentSettings();
        const methods = await pickMethods(settings.defaultMethods, 'PathLens: methods to sanity-check');
        if (!methods || methods.length === 0) return;
        const check = await pickSanityCheck();
        if (!check) return;
        const extra = await referenceOption(modelPath, methods);
        if (!extra) return;
        await recent.add(modelPath);
        const prepared = prepareJob(buildJob(settings, modelPath, [input], methods, 'top', extra));
        const job = { ...buildSanityJob(settings, modelPath, input, methods, check, extra), options: prepared.options };
        await panels.open(modelPath).runSanity(job);
      }),
    ),
    vscode.commands.registerCommand('pathlens.cancel', () => {
      const running = panels.all().filter((p) => p.running);
      if (running.length === 0) void vscode.window.showInformationMessage('PathLens: nothing is running.');
      for (const p of running) p.cancel('command');
    }),
    vscode.commands.registerCommand('pathlens.showLog', () => log.channel.show(true)),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
        try {
          panels.restore(panel, state);
        } catch (err) {
          log.error(`could not restore a panel: ${toWireError(err).message}`);
          panel.dispose();
        }
      },
    }),
    vscode.window.registerCustomEditorProvider(MODEL_VIEW_TYPE, new ModelViewProvider(context.extensionUri, worker, log), {
      supportsMultipleEditorsPerDocument: true,
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('pathlens')) return;
      log.info('settings changed');
      for (const p of panels.all()) p.postSettings();
    }),
  );
}

export function deactivate(): void {}
