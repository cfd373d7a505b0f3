/** `Open With… → PathLens Model View`: a read-only custom editor showing a model.json's summary. */
import * as vscode from 'vscode';
import { createNonce } from './webviewHtml';
import { parseModelViewMessage, renderModelViewHtml, type ModelViewContent } from './modelViewHtml';
import { toWireError, type HostWorker } from './worker';
import type { Log } from './log';

export const MODEL_VIEW_TYPE = 'pathlens.modelView';

export class ModelViewProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly worker: HostWorker,
    private readonly log: Log,
  ) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => {} };
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const webview = panel.webview;
    webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')] };
    const show = (content: ModelViewContent) => {
      webview.html = renderModelViewHtml(content, { cspSource: webview.cspSource, nonce: createNonce() });
    };
    const modelPath = document.uri.fsPath;
    const load = async () => {
      show({ kind: 'loading', path: modelPath });
      try {
        const { summary, preprocessing } = await this.worker.info(modelPath).result;
        this.log.info(`model view: ${modelPath} (${summary.format}, ${summary.layers.length} layers, ${summary.totalParams} parameters)`);
        show({ kind: 'summary', summary, preprocessing, backend: this.worker.backendName, trusted: vscode.workspace.isTrusted });
      } catch (err) {
        const wire = toWireError(err);
        this.log.notifyError(`cannot read ${modelPath}: ${wire.message}`, wire.code === 'internal' ? wire.stack : undefined);
        show({ kind: 'error', path: modelPath, message: wire.message });
      }
    };
    const sub = webview.onDidReceiveMessage((raw: unknown) => {
      const message = parseModelViewMessage(raw);
      if (!message) {
        this.log.warn('model view: dropped a malformed message');
        return;
      }
      if (message.type === 'refresh') void load();
      else if (message.type === 'explain') void vscode.commands.executeCommand('pathlens.explainModel', document.uri);
      else void vscode.commands.executeCommand('pathlens.explainModel', document.uri, undefined, { quick: true });
    });
    panel.onDidDispose(() => sub.dispose());
    await load();
  }
}
