import * as vscode from 'vscode';

/** Activation entry; the commands, panel and worker wiring live in the extension modules. */
export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('PathLens');
  context.subscriptions.push(output);
  output.appendLine('PathLens activated.');
}

export function deactivate(): void {}
