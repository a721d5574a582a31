// Typed expressions acting on real packets (loopback inside a namespace):
// connlimit (`ct count over N`) refuses the connection over the limit and
// lets new ones in once old ones close.
import type * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { connectTcp, listenTcp, rule } from '../../lib';
import { nftRuleLines } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

describe('typed nftables expressions on real traffic', () => {
  const box = useNetns('ex');
  const open: net.Socket[] = [];
  let server: net.Server | undefined;
  afterAll(() => {
    open.forEach((s) => s.destroy());
    server?.close();
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
});
