/**
 * The commands of the extension, each a named flow over the shared services: explain a model,
 * explain images with a model, show a model summary, run sanity checks, cancel.
 */
import * as vscode from 'vscode';
import { isModelFileName } from '../shared/fileNames';
import type { MethodCatalog } from '../shared/methods';
import type { ExplainJob } from '../shared/protocol';
import { inputsNearModel, isImageFile, type RecentModels } from './discovery';
import { pickInputs, pickMethods, pickModel, pickOneInput, pickReferenceSet, pickSanityCheck } from './flows';
import { shouldOfferPatternFit, type ReferenceSetMemory } from './jobExtras';
import type { Log } from './log';
import { MODEL_VIEW_TYPE } from './modelView';
import type { PanelManager } from './panel';
import { offerFitPatterns, type FitPatternsDeps } from './patternsCommand';
import { buildSanityJob } from './sanityState';
import { buildJob, type PathLensSettings } from './settings';
import { toWireError } from './worker';

/** What the commands share (built once in `activate`). */
export interface Services {
  log: Log;
  methods: MethodCatalog;
  panels: PanelManager;
  recent: RecentModels;
  references: ReferenceSetMemory;
  fitDeps: FitPatternsDeps;
  settings(): PathLensSettings;
  /** Resolves a relative baseline file against the model's workspace folder. */
  prepareJob(job: ExplainJob): ExplainJob;
}

interface ExplainOptions {
  /** Skip the pickers: the images beside the model and the default methods. */
  quick?: boolean;
}

export function registerCommands(s: Services): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('pathlens.explainModel', guarded(s.log, 'Explain Prediction', explainModelCommand(s))),
    vscode.commands.registerCommand('pathlens.explainImage', guarded(s.log, 'Explain This Image', explainImageCommand(s))),
    vscode.commands.registerCommand('pathlens.showInfo', guarded(s.log, 'Show Model Summary', showInfoCommand(s))),
    vscode.commands.registerCommand('pathlens.sanityChecks', guarded(s.log, 'Run Sanity Checks', sanityChecksCommand(s))),
    vscode.commands.registerCommand('pathlens.cancel', () => {
      const running = s.panels.all().filter((p) => p.running);
      if (running.length === 0) void vscode.window.showInformationMessage('PathLens: nothing is running.');
      for (const p of running) p.cancel('command');
    }),
    vscode.commands.registerCommand('pathlens.showLog', () => s.log.channel.show(true)),
  ];
}

/** Never lets an error escape into the host: it goes to the log and a notification. */
function guarded<A extends unknown[]>(log: Log, name: string, fn: (...args: A) => Promise<void>) {
  return async (...args: A): Promise<void> => {
    try {
      await fn(...args);
    } catch (err) {
      const wire = toWireError(err);
      log.notifyError(`${name}: ${wire.message}`, wire.code === 'internal' ? wire.stack : undefined);
    }
  };
}

function requireTrust(): boolean {
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

const isModelFile = (uri: vscode.Uri | undefined): uri is vscode.Uri => !!uri && isModelFileName(uri.fsPath);

/** The model a command is about: its argument, the active model.json, the active panel's model, else a picker. */
async function resolveModel(s: Services, uri: unknown): Promise<vscode.Uri | undefined> {
  if (uri instanceof vscode.Uri && isModelFile(uri)) return uri;
  const active = activeFile();
  if (isModelFile(active)) return active;
  const panel = s.panels.all().find((p) => p.panel.active);
  if (panel) return vscode.Uri.file(panel.modelPath);
  return pickModel(s.recent);
}

/**
 * Expected Gradients' reference set for the model: remembered per model (workspaceState), asked for
 * the first time. `{}` when no chosen method needs one; undefined when the user dismissed the picker.
 */
async function referenceOption(s: Services, modelPath: string, methods: string[]): Promise<{ reference?: string } | undefined> {
  if (!s.methods.anyNeeds(methods, 'referenceSet')) return {};
  let reference = s.references.get(modelPath);
  if (!reference) {
    reference = await pickReferenceSet(modelPath);
    if (!reference) return undefined;
    await s.references.set(modelPath, reference);
    s.log.info(`Expected Gradients reference set for ${modelPath}: ${reference} (remembered for this model)`);
  }
  return { reference };
}

/** The inputs beside the model for a quick run (images first), or null after telling the user there are none. */
function quickInputs(modelPath: string): string[] | null {
  let inputs = inputsNearModel(modelPath).filter(isImageFile).slice(0, 8);
  if (inputs.length === 0) inputs = inputsNearModel(modelPath).slice(0, 8);
  if (inputs.length > 0) return inputs;
  void vscode.window.showWarningMessage('PathLens: no images or tables beside this model; use "Explain Prediction…" and Browse….');
  return null;
}

async function runExplain(s: Services, modelUri: vscode.Uri, inputs: string[] | undefined, options: ExplainOptions): Promise<void> {
  const modelPath = modelUri.fsPath;
  const settings = s.settings();
  const chosenInputs = inputs ?? (options.quick ? quickInputs(modelPath) : await pickInputs(modelPath));
  if (!chosenInputs || chosenInputs.length === 0) return;
  const methods = options.quick ? settings.defaultMethods : await pickMethods(s.methods.infos(), settings.defaultMethods);
  if (!methods || methods.length === 0) return;
  const extra = await referenceOption(s, modelPath, methods);
  if (!extra) return;
  await s.recent.add(modelPath);
  const job = s.prepareJob(buildJob(settings, modelPath, chosenInputs, methods, 'top', extra));
  const panel = s.panels.open(modelPath);
  const end = await panel.runFull(job);
  // PGIG / PatternNet / PatternAttribution without fitted patterns: offer to fit them, then re-run.
  if (
    end.error &&
    shouldOfferPatternFit(s.methods, job.methods, end.error) &&
    (await offerFitPatterns(s.fitDeps, modelUri, end.error.message))
  ) {
    panel.reveal();
    await panel.runFull(job);
  }
}

function explainModelCommand(s: Services) {
  return async (uri?: vscode.Uri, _selected?: vscode.Uri[], options: ExplainOptions = {}): Promise<void> => {
    if (!requireTrust()) return;
    // A .json other than model.json passed explicitly is explained as given (e.g. a renamed model).
    const model = uri instanceof vscode.Uri ? uri : await resolveModel(s, undefined);
    if (!model) return;
    await runExplain(s, model, undefined, options && typeof options === 'object' ? options : {});
  };
}

/** The images the command was invoked on (selection, argument, active editor), else from an open dialog. */
async function chosenImages(uri?: vscode.Uri, selected?: vscode.Uri[]): Promise<vscode.Uri[]> {
  let images = (Array.isArray(selected) && selected.length > 0 ? selected : uri instanceof vscode.Uri ? [uri] : []).filter((u) =>
    isImageFile(u.fsPath),
  );
  const active = activeFile();
  if (images.length === 0 && active && isImageFile(active.fsPath)) images = [active];
  if (images.length > 0) return images;
  return (
    (await vscode.window.showOpenDialog({ canSelectMany: true, filters: { Images: ['png', 'jpg', 'jpeg'] }, openLabel: 'Explain' })) ?? []
  );
}

function explainImageCommand(s: Services) {
  return async (uri?: vscode.Uri, selected?: vscode.Uri[]): Promise<void> => {
    if (!requireTrust()) return;
    const images = await chosenImages(uri, selected);
    if (images.length === 0) return;
    const model = await pickModel(s.recent);
    if (!model) return;
    await runExplain(
      s,
      model,
      images.map((u) => u.fsPath),
      {},
    );
  };
}

function showInfoCommand(s: Services) {
  return async (uri?: vscode.Uri): Promise<void> => {
    let model = uri instanceof vscode.Uri ? uri : undefined;
    if (!model) {
      const active = activeFile();
      if (active && (active.fsPath.endsWith('.json') || isModelFileName(active.fsPath))) model = active;
    }
    model ??= await pickModel(s.recent);
    if (model) await vscode.commands.executeCommand('vscode.openWith', model, MODEL_VIEW_TYPE);
  };
}

function sanityChecksCommand(s: Services) {
  return async (uri?: vscode.Uri): Promise<void> => {
    if (!requireTrust()) return;
    const model = await resolveModel(s, uri);
    if (!model) return;
    const modelPath = model.fsPath;
    const input = await pickOneInput(modelPath);
    if (!input) return;
    const settings = s.settings();
    const methods = await pickMethods(s.methods.infos(), settings.defaultMethods, 'PathLens: methods to sanity-check');
    if (!methods || methods.length === 0) return;
    const check = await pickSanityCheck();
    if (!check) return;
    const extra = await referenceOption(s, modelPath, methods);
    if (!extra) return;
    await s.recent.add(modelPath);
    const prepared = s.prepareJob(buildJob(settings, modelPath, [input], methods, 'top', extra));
    const job = { ...buildSanityJob(settings, modelPath, input, methods, check, extra), options: prepared.options };
    await s.panels.open(modelPath).runSanity(job);
  };
}
