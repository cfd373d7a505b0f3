/**
 * Lower a compute thread's CPU priority (Linux): the extension host's own thread shares the process
 * with the attribution worker and its pool, and on a busy machine it must win the CPU whenever it
 * wakes, or the editor stutters while a job runs. On Linux a thread is a task with its own id
 * (`/proc/thread-self`), and setpriority on that id renices that thread only. Elsewhere a no-op.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Nice value of compute threads when the caller keeps an interactive thread in the same process. */
export const COMPUTE_NICE = 10;

/** Renices the calling thread; returns whether it could. */
export function lowerThisThreadPriority(nice = COMPUTE_NICE): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    os.setPriority(tid, Math.max(os.getPriority(tid), nice));
    return true;
  } catch {
    return false;
  }
}
