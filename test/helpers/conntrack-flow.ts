// A UDP flow to make conntrack entries in a test's namespace, and what an nft
// rule's counter saw of it: the conntrack tests that change an entry check the
// kernel's own match (`ct mark`, `ct label`) on the flow's next packet.
import { execFileSync } from 'node:child_process';
import type * as dgram from 'node:dgram';
import { expect } from 'vitest';
import type { Handle } from '../../lib';

/** Loads an nft script in the namespace (`nft -f -`). */
export function nftIn(netns: string, script: string): string {
  return execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: script, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Sends one datagram to 127.0.0.1:port from the bound socket. */
export function sendTo(sock: dgram.Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => sock.send('x', port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
}

/** The packets counted by the rule of `inet t out` whose text matches `counted` (it must have a `counter packets (\d+)` group). */
export function countedPackets(netns: string, counted: RegExp): number {
  const out = nftIn(netns, 'list chain inet t out');
  const m = counted.exec(out);
  if (!m) throw new Error(`no counter in\n${out}`);
  return Number(m[1]);
}

/** The one conntrack entry of the UDP flow to `dport`. */
export async function udpFlow(h: Handle, dport: number) {
  const [e] = await h.conntrack.list({ protocol: 'udp', original: { dport } });
  expect(e).toBeDefined();
  return e;
}
