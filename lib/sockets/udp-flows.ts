/**
 * The original destination of REDIRECTed UDP flows, from conntrack: the
 * flow's reply tuple is (proxy address:port → sender address:port), unique
 * in the table, and its original tuple holds where the sender was going.
 *
 * A listing walks the kernel's table, so the answer is remembered per
 * sender while its flow is active: conntrack cannot give one sender port a
 * second REDIRECTed destination while its entry lives (the reply tuple
 * would clash: the kernel drops such datagrams), and a UDP entry outlives
 * 30 s of silence, longer than the memory (10 s).
 * @internal
 * @module
 */
import type { Handle } from '../handle';

interface UdpEndpoint {
  address: string;
  port: number;
}

/** How long an answer is remembered after the sender's last datagram. */
const REMEMBER_MS = 10_000;
/** Senders remembered at most (the oldest are forgotten first). */
const MAX_FLOWS = 4096;

/** @internal */
export class UdpFlowDestinations {
  private readonly known = new Map<string, { dst: UdpEndpoint; seen: number }>();

  /**
   * The original destination of the flow from `from` delivered to `to`, or
   * undefined when conntrack has no NATed flow for it.
   * @internal
   * @example
   * const dst = await flows.lookup(h, { address: '10.0.0.2', port: 40000 }, { address: '127.0.0.1', port: 15053 });
   */
  async lookup(h: Handle, from: UdpEndpoint, to: UdpEndpoint): Promise<UdpEndpoint | undefined> {
    const key = `${from.address}|${String(from.port)}|${to.address}|${String(to.port)}`;
    const now = Date.now();
    const hit = this.known.get(key);
    if (hit && now - hit.seen < REMEMBER_MS) {
      hit.seen = now;
      return hit.dst;
    }
    const entries = await h.conntrack.list({
      protocol: 'udp',
      reply: { src: to.address, sport: to.port, dst: from.address, dport: from.port },
      status: ['dnat'],
    });
    const e = entries.at(0);
    this.known.delete(key);
    if (!e?.original.dport) return undefined;
    const dst = { address: e.original.dst, port: e.original.dport };
    if (this.known.size >= MAX_FLOWS) this.known.delete(this.known.keys().next().value as string);
    this.known.set(key, { dst, seen: now });
    return dst;
  }
}
