// h.sockets: the TCP and UDP sockets of a namespace over NETLINK_SOCK_DIAG,
// cross-checked with `ss`; sockets of other namespaces are not listed.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bindUdp, connectTcp, listenTcp, ValidationError, type SocketFilter } from '../../lib';
import { useNetns } from '../helpers/netns';

/** `ss` in a namespace: "local-address:port" of each socket (tests only). */
function ss(netns: string, flags: string): string[] {
  const out = execFileSync('ip', ['netns', 'exec', netns, 'ss', '-Hn', flags], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/)[flags.includes('l') ? 3 : 4]);
}

describe('socket diagnostics (h.sockets)', () => {
  const box = useNetns('a', 'b');

  it('lists TCP listeners and connections, UDP sockets, with states and addresses as ss does', async () => {
    const h = box.h('a');
    const v4 = await listenTcp({ netns: box.ns('a'), host: '127.0.0.1', port: 7301 }, (s) => s.end());
    const v6 = await listenTcp({ netns: box.ns('a'), host: '::', port: 7302 }, () => undefined);
    const udp = await bindUdp({ netns: box.ns('a'), host: '127.0.0.1', port: 7303 });
    const other = await listenTcp({ netns: box.ns('b'), port: 7304 }, (s) => s.end()); // another namespace: not listed
    const client = await connectTcp({ netns: box.ns('a'), host: '::1', port: 7302 });
    try {
      const listeners = await h.sockets.list({ protocol: 'tcp', state: 'listen' });
      expect(listeners.map((s) => `${s.local.address}:${s.local.port}`).sort()).toEqual(['127.0.0.1:7301', ':::7302']);
      expect(ss(box.ns('a'), '-tl').sort()).toEqual(['*:7302', '127.0.0.1:7301']); // ss prints a dual-stack :: as *
      expect(listeners.find((s) => s.local.port === 7302)).toMatchObject({ family: 6, protocol: 'tcp', state: 'listen', peer: { port: 0 }, uid: 0 });

      const [est] = await h.sockets.list({ protocol: 'tcp', state: 'established', port: client.localPort });
      expect(est).toMatchObject({ family: 6, local: { address: '::1' }, peer: { address: '::1', port: 7302 } });
      expect((await h.sockets.list({ protocol: 'tcp', port: 7302 })).map((s) => s.state).sort()).toEqual(['established', 'listen']);

      expect(await h.sockets.list({ protocol: 'udp', port: 7303 })).toEqual([
        expect.objectContaining({ family: 4, state: 'close', local: { address: '127.0.0.1', port: 7303 } }),
      ]);
      expect(await h.sockets.list({ protocol: 'udp', family: 6, port: 7303 })).toEqual([]);
      expect(await h.sockets.list({ protocol: 'tcp', port: 7304 })).toEqual([]);
      expect((await box.h('b').sockets.list({ protocol: 'tcp', port: 7304 })).length).toBe(1);
    } finally {
      client.destroy();
      for (const s of [v4, v6, other]) s.close();
      udp.close();
    }
  });

  it('refuses bad filters before sending anything', async () => {
    const h = box.h('a');
    for (const [filter, field] of [
      [{ protocol: 'sctp' }, 'protocol'],
      [{ protocol: 'tcp', state: 'listening' }, 'state'],
      [{ protocol: 'tcp', port: 70000 }, 'port'],
      [{ protocol: 'tcp', family: 5 }, 'family'],
      [{ protocol: 'tcp', prot: 1 }, 'socket filter'],
    ] as const) {
      const err = await h.sockets.list(filter as unknown as SocketFilter).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
    }
  });
});
