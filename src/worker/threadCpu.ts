/**
 * Per-thread CPU time for `PATHLENS_TIMINGS=1` (Linux). Node 20 has no per-thread CPU clock, but each
 * thread is a task under /proc/self/task whose schedstat starts with its time on a CPU in ns. The
 * worker threads announce their role and task id on a BroadcastChannel (no protocol message needed),
 * so the CLI's main thread can tell the coordinator from the pool threads when it reads them.
 */
import * as fs from 'node:fs';
import { BroadcastChannel } from 'node:worker_threads';

export const THREAD_ROLES_CHANNEL = 'pathlens-thread-roles';
export type ThreadRole = 'main' | 'coordinator' | 'evaluator';
export interface ThreadAnnouncement {
  role: ThreadRole;
  tid: number;
}

/** The calling thread's task id, or null off Linux. */
export function thisThreadTaskId(): number | null {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

/** Tells a listening `ThreadRoles` (the CLI with timings on) which role this thread plays. */
export function announceThreadRole(role: ThreadRole): void {
  if (process.env.PATHLENS_TIMINGS !== '1') return;
  const tid = thisThreadTaskId();
  if (tid === null) return;
  const channel = new BroadcastChannel(THREAD_ROLES_CHANNEL);
  channel.postMessage({ role, tid } satisfies ThreadAnnouncement);
  channel.close();
}

/** Collects the announcements; never keeps the process alive. */
export class ThreadRoles {
  readonly roles = new Map<number, ThreadRole>();
  private readonly channel = new BroadcastChannel(THREAD_ROLES_CHANNEL);

  constructor() {
    const main = thisThreadTaskId();
    if (main !== null) this.roles.set(main, 'main');
    this.channel.onmessage = (event) => {
      const { role, tid } = (event as { data: ThreadAnnouncement }).data;
      this.roles.set(tid, role);
    };
    this.channel.unref();
  }

  close(): void {
    this.channel.close();
  }
}

/** CPU ms so far of every thread of this process, by task id (empty off Linux). */
export function threadCpuMs(): Map<number, number> {
  const cpu = new Map<number, number>();
  let tasks: string[];
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return cpu;
  }
  for (const task of tasks) {
    try {
      cpu.set(Number(task), Number(fs.readFileSync(`/proc/self/task/${task}/schedstat`, 'utf8').split(' ')[0]) / 1e6);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return cpu;
}
