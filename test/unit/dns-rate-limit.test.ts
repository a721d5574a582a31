// The DNS responder's per-client token bucket, with a given clock.
import { describe, expect, it } from 'vitest';
import { RateLimit } from '../../lib/dns/rate-limit';

describe('DNS per-client rate limit', () => {
  it('lets a burst through, then perSecond, per client', () => {
    const limit = new RateLimit(10, 3);
    const takes = (client: string, now: number, n: number) => Array.from({ length: n }, () => limit.take(client, now)).filter(Boolean).length;
    expect(takes('10.0.0.2', 0, 10)).toBe(3); // the burst
    expect(takes('10.0.0.3', 0, 10)).toBe(3); // another client has its own bucket
    expect(takes('10.0.0.2', 100, 10)).toBe(1); // 100 ms at 10/s: one more
    expect(takes('10.0.0.2', 10_000, 10)).toBe(3); // refilled, but never above the burst
  });
});
