// Typed expressions acting on real packets: connlimit (`ct count over N`)
// refuses the connection over the limit and lets new ones in once old ones
// close (loopback); tproxy hands a connection to 203.0.113.5:80, an address
// nobody has, to a transparent local listener on another port, which sees the
// original destination as its own address (client ── gw, the usual fwmark +
// local route setup on gw).
import type * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { connectTcp, listenTcp, rule } from '../../lib';
import { nftRuleLines } from '../helpers/nft';
import { ip, useNetns } from '../helpers/netns';
import { transparentEcho } from '../helpers/traffic';

describe('typed nftables expressions on real traffic', () => {
  const box = useNetns('ex', 'client', 'gw');
  let transparent: net.Server | undefined;
  const open: net.Socket[] = [];
  let server: net.Server | undefined;
  afterAll(() => {
    open.forEach((s) => s.destroy());
    server?.close();
    transparent?.close();
  });

  it('ct count over 2: a third concurrent connection is reset, a new one gets in after one closes', async () => {
    const ns = box.ns('ex');
    const h = box.h('ex');
    const port = 9000;
    server = await listenTcp({ netns: ns, host: '127.0.0.1', port }, (s) => s.on('error', () => undefined));
    const tx = h.nft.transaction();
    tx.addTable({ family: 'inet', name: 'cl' });
    tx.addChain({ family: 'inet', table: 'cl', name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
    tx.addRule({
      family: 'inet',
      table: 'cl',
      chain: 'input',
      rule: rule().tcp({ dport: port }).ct({ state: 'new' }).expressions({ type: 'connlimit', count: 2, invert: true }).reject({ with: 'tcp reset' }),
    });
    await tx.commit();
    expect(nftRuleLines(ns, 'inet', 'cl')).toEqual([`tcp dport ${port} ct state new ct count over 2 reject with tcp reset`]);

    const connect = () => connectTcp({ netns: ns, host: '127.0.0.1', port, timeoutMs: 3000 });
    open.push(await connect(), await connect());
    await expect(connect()).rejects.toThrow(/ECONNREFUSED|reset|refused/i);
    // Closing one connection frees a slot (conncount drops connections that are gone).
    const first = open.shift()!;
    await new Promise<void>((r) => {
      first.once('close', () => r());
      first.destroy();
    });
    let third: net.Socket | undefined;
    for (let i = 0; i < 50 && !third; i++) {
      third = await connect().catch(() => undefined);
      if (!third) await new Promise((r) => setTimeout(r, 100));
    }
    expect(third).toBeDefined();
    open.push(third!);
  });

  it('tproxy to :8080 diverts a connection for 203.0.113.5:80 to a transparent listener, which sees 203.0.113.5:80', async () => {
    const gw = box.h('gw');
    const client = box.h('client');
    await gw.links.add({ name: 'vc', kind: 'veth', peer: { name: 'eth0', netns: box.ns('client') }, up: true });
    await gw.addresses.add('vc', '10.9.0.1/24');
    await client.links.set('eth0', { up: true });
    await client.addresses.add('eth0', '10.9.0.2/24');
    await client.routes.add({ dst: 'default', gateway: '10.9.0.1' });
    // Marked packets are delivered locally, whatever their destination.
    ip(box.ns('gw'), 'rule', 'add', 'fwmark', '1', 'lookup', '100');
    ip(box.ns('gw'), 'route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '100');
    transparent = await transparentEcho(box.ns('gw'), 8080);

    const fetch = async (timeoutMs = 3000) => {
      const s = await connectTcp({ netns: box.ns('client'), host: '203.0.113.5', port: 80, timeoutMs });
      let out = '';
      s.on('data', (d) => (out += d));
      await new Promise((r) => s.on('close', r));
      return out;
    };
    // Without the rule nobody answers for 203.0.113.5.
    await expect(fetch(500)).rejects.toThrow();

    const tx = gw.nft.transaction();
    tx.addTable({ family: 'ip', name: 'tp' });
    tx.addChain({ family: 'ip', table: 'tp', name: 'pre', type: 'filter', hook: 'prerouting', priority: 'mangle', policy: 'accept' });
    tx.addRule({
      family: 'ip',
      table: 'tp',
      chain: 'pre',
      rule: rule()
        .tcp({ dport: 80 })
        .expressions({ type: 'immediate', dreg: 1, data: Buffer.from([0x1f, 0x90]) }, { type: 'tproxy', family: 'ip', regPort: 1 })
        .setMark(1)
        .accept(),
    });
    await tx.commit();
    expect(nftRuleLines(box.ns('gw'), 'ip', 'tp')).toEqual(['tcp dport 80 tproxy to :8080 meta mark set 0x00000001 accept']);
    expect(await fetch()).toBe('203.0.113.5:80');
  });
});
