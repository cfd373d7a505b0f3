import { describe, expect, it } from 'vitest';
import { throttle } from '../src/worker/jobs';
import type { Progress } from '../src/core/types';

describe('progress throttling', () => {
  it('passes stage starts and ends, drops updates closer than the interval', () => {
    let now = 0;
    const seen: Progress[] = [];
    const send = throttle(
      100,
      (p) => seen.push(p),
      () => now,
    );
    for (let done = 0; done <= 50; done++) {
      send({ stage: 'ig', done, total: 50 });
      now += 10;
    }
    expect(seen[0]!.done).toBe(0);
    expect(seen[seen.length - 1]!.done).toBe(50);
    expect(seen.length).toBeLessThanOrEqual(8);
  });
});
