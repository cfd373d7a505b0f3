/**
 * Several inputs of one job computed at once, their events reported as if one ran after the other:
 * an input's `onInput` and `onResult` events are held until every earlier input has finished, and
 * only the earliest unfinished input reports progress (a later one's progress would jump back and
 * forth in the bar). With one input in flight the events pass through unchanged.
 */
import type { MethodResult, ProgressCallback } from '../types';

/** The per-input callbacks of an explain job (see ExplainHooks). */
export interface InputEvents<Started> {
  onProgress?: ProgressCallback;
  onInput?: (inputIndex: number, input: Started) => void;
  onResult?: (inputIndex: number, result: MethodResult) => void;
}

export class InputOrder<Started> {
  /** The earliest input not finished yet: its events pass straight through. */
  private head = 0;
  private readonly held = new Map<number, (() => void)[]>();
  private readonly finished = new Set<number>();

  constructor(private readonly events: InputEvents<Started>) {}

  /** The callbacks input `index` reports through. */
  eventsOf(index: number): InputEvents<Started> {
    const { onProgress, onInput, onResult } = this.events;
    return {
      onProgress: onProgress && ((p) => index === this.head && onProgress(p)),
      onInput: onInput && ((i, started) => this.deliver(index, () => onInput(i, started))),
      onResult: onResult && ((i, result) => this.deliver(index, () => onResult(i, result))),
    };
  }

  /** Input `index` has reported everything: later inputs' held events follow in order. */
  finish(index: number): void {
    this.finished.add(index);
    while (this.finished.has(this.head)) {
      this.finished.delete(this.head);
      this.head++;
      for (const event of this.held.get(this.head) ?? []) event();
      this.held.delete(this.head);
    }
  }

  private deliver(index: number, event: () => void): void {
    if (index === this.head) {
      event();
      return;
    }
    const held = this.held.get(index) ?? [];
    held.push(event);
    this.held.set(index, held);
  }
}
