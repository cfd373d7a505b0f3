/** Worker progress shown in a VS Code progress notification (which takes increments, not totals). */
import type * as vscode from 'vscode';
import type { Progress } from '../shared/types';

export interface ProgressSink {
  /** Shows `stage done/total` (or the message `describe` makes) and advances the bar to done/total. */
  report(p: Progress): void;
  /** A new stage counts from 0 again (the bar does not move back). */
  reset(): void;
}

export function notificationProgress(
  progress: vscode.Progress<{ message?: string; increment?: number }>,
  describe: (p: Progress) => string = ({ stage, done, total }) => `${stage} ${done}/${total}`,
): ProgressSink {
  let last = 0;
  return {
    report(p) {
      const pct = p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : 0;
      progress.report({ message: describe(p), increment: pct >= last ? pct - last : undefined });
      last = pct;
    },
    reset() {
      last = 0;
    },
  };
}
