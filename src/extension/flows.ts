/** The pickers of the explain flow: model, inputs (near the model, the workspace, Browse…), methods. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BROWSE_INPUT_EXTENSIONS, inputsNearModel, orderInputCandidates, orderModels, type RecentModels } from './discovery';
import type { MethodInfo } from '../shared/methods';
import type { SanityCheck } from '../shared/sanity';

const BROWSE = '$(folder-opened) Browse…';

type FileItem = vscode.QuickPickItem & { file?: string };

/** Quick-pick items with a separator wherever the section label changes (entries come ordered). */
function sectioned<T>(entries: readonly T[], sectionOf: (entry: T) => string, toItem: (entry: T) => FileItem): FileItem[] {
  const items: FileItem[] = [];
  let section: string | null = null;
  for (const entry of entries) {
    const label = sectionOf(entry);
    if (label !== section) {
      items.push({ label, kind: vscode.QuickPickItemKind.Separator });
      section = label;
    }
    items.push(toItem(entry));
  }
  return items;
}

/** The file filter of model open dialogs: TF.js model.json and Keras files. */
export const MODEL_FILE_FILTERS = { 'TF.js, Keras or ONNX model': ['json', 'keras', 'h5', 'hdf5', 'onnx'] };

/** `mnist/model.json`, or `mnist.keras` / `resnet18.onnx` for a Keras or ONNX file. */
function modelLabel(modelPath: string): string {
  return path.basename(modelPath) === 'model.json' ? `${path.basename(path.dirname(modelPath))}/model.json` : path.basename(modelPath);
}

export async function pickModel(recent: RecentModels): Promise<vscode.Uri | undefined> {
  const found = await vscode.workspace.findFiles('**/{model.json,*.keras,*.h5,*.hdf5,*.onnx}', '**/node_modules/**', 500);
  const ordered = orderModels(
    recent.list(),
    found.map((u) => u.fsPath),
  );
  const items = sectioned(
    ordered,
    (m) => (m.recent ? 'recently used' : 'workspace'),
    (m): FileItem => ({
      label: modelLabel(m.path),
      description: vscode.workspace.asRelativePath(path.dirname(m.path)),
      file: m.path,
    }),
  );
  items.push({ label: BROWSE, alwaysShow: true });
  const picked = await vscode.window.showQuickPick(items, {
    title: 'PathLens: pick a model',
    placeHolder: 'A TF.js model.json (layers or graph model), a Keras .keras / .h5 file or an ONNX .onnx file',
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  if (picked.file) return vscode.Uri.file(picked.file);
  const chosen = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: MODEL_FILE_FILTERS,
    openLabel: 'Explain with this model',
  });
  return chosen?.[0];
}

/** Multi-select of inputs; `preselect` (e.g. the right-clicked images) are checked. */
export async function pickInputs(modelPath: string, preselect: string[] = []): Promise<string[] | undefined> {
  const near = inputsNearModel(modelPath);
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(modelPath));
  const found = await vscode.workspace.findFiles('**/*.{png,jpg,jpeg,PNG,JPG,JPEG,csv}', '**/node_modules/**', 1000);
  const candidates = orderInputCandidates(
    modelPath,
    [...preselect, ...near],
    found.map((u) => u.fsPath),
    folder?.uri.fsPath,
  );
  const items = sectioned(
    candidates,
    (c) => (c.near ? 'beside the model' : 'elsewhere in the workspace'),
    (c): FileItem => ({
      label: c.label,
      description: c.description,
      file: c.path,
      picked: preselect.some((p) => path.resolve(p) === c.path),
    }),
  );
  items.push({ label: BROWSE, description: 'images, .json tensors or .csv tables', alwaysShow: true });

  const qp = vscode.window.createQuickPick<FileItem>();
  qp.title = `PathLens: inputs for ${modelLabel(modelPath)}`;
  qp.placeholder = 'Check one or more inputs, then press Enter (Browse… to add files from disk)';
  qp.canSelectMany = true;
  qp.matchOnDescription = true;
  qp.ignoreFocusOut = true;
  qp.items = items;
  qp.selectedItems = items.filter((i) => i.picked);
  const picked = await new Promise<readonly FileItem[] | undefined>((resolve) => {
    let done = false;
    qp.onDidAccept(() => {
      // Enter with nothing checked takes the highlighted item, else what the filter shows (typing a
      // file name and pressing Enter picks that file); with neither, the picker stays open.
      let chosen: readonly FileItem[] = qp.selectedItems;
      if (chosen.length === 0) chosen = qp.activeItems.filter((i) => i.kind !== vscode.QuickPickItemKind.Separator);
      if (chosen.length === 0 && qp.value.trim() !== '') chosen = filterItems(items, qp.value);
      if (chosen.length === 0) {
        qp.placeholder = 'Nothing checked: check at least one input (or type part of its name), then press Enter.';
        return;
      }
      done = true;
      resolve(chosen);
      qp.hide();
    });
    qp.onDidHide(() => {
      if (!done) resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
  if (!picked || picked.length === 0) return undefined;
  const files = picked.filter((i) => i.file).map((i) => i.file!);
  if (picked.some((i) => !i.file)) {
    const chosen = await vscode.window.showOpenDialog({
      canSelectMany: true,
      canSelectFolders: false,
      defaultUri: vscode.Uri.file(path.dirname(modelPath)),
      filters: { Inputs: BROWSE_INPUT_EXTENSIONS },
      openLabel: 'Explain these inputs',
    });
    if (chosen) files.push(...chosen.map((u) => u.fsPath));
  }
  return files.length > 0 ? [...new Set(files)] : undefined;
}

/** The file items a quick pick filter shows (case-insensitive substring of label or description). */
function filterItems<T extends vscode.QuickPickItem & { file?: string }>(items: readonly T[], filter: string): T[] {
  const needle = filter.trim().toLowerCase();
  return items.filter((i) => i.file && (i.label.toLowerCase().includes(needle) || (i.description ?? '').toLowerCase().includes(needle)));
}

export async function pickMethods(
  infos: readonly MethodInfo[],
  defaults: string[],
  title = 'PathLens: attribution methods',
): Promise<string[] | undefined> {
  type Item = vscode.QuickPickItem & { name: string };
  const items: Item[] = infos.map((m) => ({
    label: m.title,
    description: m.name + (m.complete ? ' · complete' : ''),
    detail: m.description,
    name: m.name,
    picked: defaults.includes(m.name),
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title,
    placeHolder: 'Check the methods to compare, then press Enter (defaults from the pathlens.defaultMethods setting)',
    canPickMany: true,
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  if (!picked || picked.length === 0) return undefined;
  return picked.map((p) => p.name);
}

/**
 * Expected Gradients' reference set: a folder of images, a .csv table or a .json array file (a quick
 * pick of the kind, then the open dialog). `current` (the remembered set) is offered first when given.
 */
export async function pickReferenceSet(modelPath: string, current?: string): Promise<string | undefined> {
  type Item = vscode.QuickPickItem & { kind?: vscode.QuickPickItemKind; choice: 'current' | 'folder' | 'csv' | 'json' };
  const items: Item[] = [
    ...(current
      ? [
          {
            label: `$(check) ${path.basename(current)}`,
            description: vscode.workspace.asRelativePath(current),
            detail: 'the reference set used last time for this model',
            choice: 'current' as const,
          },
        ]
      : []),
    { label: '$(folder) Folder of images…', description: 'every .png / .jpg in a folder', choice: 'folder' },
    { label: '$(table) CSV file…', description: 'one reference sample per row', choice: 'csv' },
    { label: '$(json) JSON array file…', description: 'an array of input tensors', choice: 'json' },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: `PathLens: Expected Gradients reference set for ${modelLabel(modelPath)}`,
    placeHolder: 'Baselines are drawn from this set (remembered for this model)',
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  if (picked.choice === 'current') return current;
  const folder = picked.choice === 'folder';
  const chosen = await vscode.window.showOpenDialog({
    canSelectMany: false,
    canSelectFiles: !folder,
    canSelectFolders: folder,
    defaultUri: vscode.Uri.file(path.dirname(modelPath)),
    ...(folder ? {} : { filters: picked.choice === 'csv' ? { 'CSV table': ['csv'] } : { 'JSON array': ['json'] } }),
    openLabel: 'Use as reference set',
    title: 'Expected Gradients reference set',
  });
  return chosen?.[0]?.fsPath;
}

/** One input for a sanity check: an image or table near the model or in the workspace, or Browse…. */
export async function pickOneInput(modelPath: string, preselect?: string): Promise<string | undefined> {
  const near = inputsNearModel(modelPath);
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(modelPath));
  const found = await vscode.workspace.findFiles('**/*.{png,jpg,jpeg,PNG,JPG,JPEG,csv}', '**/node_modules/**', 1000);
  const candidates = orderInputCandidates(
    modelPath,
    [...(preselect ? [preselect] : []), ...near],
    found.map((u) => u.fsPath),
    folder?.uri.fsPath,
  );
  type Item = vscode.QuickPickItem & { file?: string };
  const items: Item[] = [];
  let section: boolean | null = null;
  for (const c of candidates) {
    if (section !== c.near) {
      items.push({ label: c.near ? 'beside the model' : 'elsewhere in the workspace', kind: vscode.QuickPickItemKind.Separator });
      section = c.near;
    }
    items.push({ label: c.label, description: c.description, file: c.path });
  }
  items.push({ label: BROWSE, description: 'an image, a .json tensor or a .csv table (its first row)', alwaysShow: true });
  const picked = await vscode.window.showQuickPick(items, {
    title: `PathLens: the input to run sanity checks on (${modelLabel(modelPath)})`,
    placeHolder: 'One input',
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  if (picked.file) return picked.file;
  const chosen = await vscode.window.showOpenDialog({
    canSelectMany: false,
    defaultUri: vscode.Uri.file(path.dirname(modelPath)),
    filters: { Inputs: BROWSE_INPUT_EXTENSIONS },
    openLabel: 'Run sanity checks on this input',
  });
  return chosen?.[0]?.fsPath;
}

/** The sanity check to run. */
export async function pickSanityCheck(): Promise<SanityCheck | undefined> {
  const items: (vscode.QuickPickItem & { check: SanityCheck })[] = [
    {
      label: 'Cascading randomization',
      description: 'cascading',
      detail: 'Re-initialise the weighted layers from the output down, cumulatively (Adebayo et al. 2018)',
      check: 'cascading',
    },
    {
      label: 'Independent randomization',
      description: 'independent',
      detail: 'Re-initialise one layer at a time, the others trained',
      check: 'independent',
    },
    {
      label: 'Model perturbation',
      description: 'perturbation',
      detail: 'Gaussian noise on every weight at a few relative levels; keep models whose prediction is unchanged',
      check: 'perturbation',
    },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: 'PathLens: sanity check',
    placeHolder: 'Does the explanation depend on the model?',
    ignoreFocusOut: true,
  });
  return picked?.check;
}
