/**
 * A per-client token bucket for UDP queries: a client may send `burst`
 * queries at once and `perSecond` on average; above that its queries are
 * dropped (a spoofed-source flood then gets no amplified replies).
 * @module
 */

/** Clients tracked at most; beyond that, buckets that have refilled (idle clients) are forgotten. */
const MAX_CLIENTS = 65_536;

export class RateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes a token for `client`; false when it has none left (drop the query). */
  take(client: string, now = Date.now()): boolean {
    const b = this.buckets.get(client);
    const tokens = b ? Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond) : this.burst;
    if (tokens < 1) {
      if (b) Object.assign(b, { tokens, at: now });
      return false;
    }
    if (!b && this.buckets.size >= MAX_CLIENTS) this.forgetFull(now);
    this.buckets.set(client, { tokens: tokens - 1, at: now });
    return true;
  }

  private forgetFull(now: number): void {
    for (const [client, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(client);
    const oldest = this.buckets.keys().next();
    if (this.buckets.size >= MAX_CLIENTS && oldest.done !== true) this.buckets.delete(oldest.value); // all busy: the longest-known one starts afresh
  }
}
