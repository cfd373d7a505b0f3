import type { Progress } from '../shared/types';

/** At most one progress line per interval (and the last one), so a fast job does not flood the terminal. */
export function progressPrinter(print: (line: string) => void, intervalMs = 1000): (p: Progress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < intervalMs && p.done < p.total) return;
    last = now;
    print(`  ${p.stage}: ${p.done}/${p.total}`);
  };
}
