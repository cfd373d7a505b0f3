/** The "PathLens" output channel: what ran, where, how long, and every error. */
import * as vscode from 'vscode';

export class Log implements vscode.Disposable {
  readonly channel: vscode.OutputChannel;

  constructor() {
    this.channel = vscode.window.createOutputChannel('PathLens');
  }

  private line(level: string, message: string): void {
    const time = new Date().toISOString().slice(11, 23);
    this.channel.appendLine(`[${time}] ${level.padEnd(5)} ${message}`);
  }

  info(message: string): void {
    this.line('info', message);
  }

  warn(message: string): void {
    this.line('warn', message);
  }

  error(message: string, detail?: string): void {
    this.line('error', message);
    if (detail) this.channel.appendLine(detail.replace(/^/gm, '    '));
  }

  /** Logs the error and shows it as a notification with a "Show Log" button. */
  notifyError(message: string, detail?: string): void {
    this.error(message, detail);
    void vscode.window.showErrorMessage(`PathLens: ${message}`, 'Show Log').then((choice) => {
      if (choice === 'Show Log') this.channel.show(true);
    });
  }

  dispose(): void {
    this.channel.dispose();
  }
}
