// OneShotConnection (the sandbox side of an attach): the requests asked in one
// tick go into the namespace in one pool job, in order, each settled by its
// own ack; kernel refusals are typed; the namespace reference is its own.
import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError, NotFoundError, openNetnsSync } from '../../lib';
import { bindAsync } from '../../lib/netlink/bind';
import { NETLINK_ROUTE } from '../../lib/netlink/constants';
import { OneShotConnection } from '../../lib/netlink/one-shot';
import { addressOps } from '../../lib/rtnetlink/address';
import { linkOps } from '../../lib/rtnetlink/link';
import { ipJson, useNetns } from '../helpers/netns';

describe('OneShotConnection', () => {
  const box = useNetns('a', 'b');
  const conns: OneShotConnection[] = [];
  afterEach(() => {
    for (const c of conns.splice(0)) c.close();
  });

  function connect(label: string) {
    const ns = openNetnsSync(box.ns(label));
    try {
      const conn = new OneShotConnection(NETLINK_ROUTE, ns.fd);
      conns.push(conn);
      return { conn, links: bindAsync(conn, linkOps), addresses: bindAsync(conn, addressOps) };
    } finally {
      ns.close(); // the connection keeps its own reference: closing the caller's changes nothing
    }
  }

  it('runs the requests of one tick in order in its namespace only, each settled by its own ack or typed error', async () => {
    const { links, addresses } = connect('a');
    // Same tick, so one sendmsg: the bridge is made, a request is refused, then the new bridge is set up by name
    // (it exists only if the kernel ran the requests in order).
    const [made, missing, up] = await Promise.allSettled([
      links.add({ name: 'os0', kind: 'bridge' }),
      links.set('nosuch0', { up: true }),
      links.set('os0', { up: true }),
    ]);
    expect(made.status).toBe('fulfilled');
    expect(up.status).toBe('fulfilled');
    expect(missing.status === 'rejected' && missing.reason).toBeInstanceOf(NotFoundError);
    expect(missing.status === 'rejected' && missing.reason).toMatchObject({ code: 'ENODEV', operation: 'set link nosuch0' });
    const os0 = await links.get('os0');
    await addresses.add(os0.index, '10.66.0.1/24');
    const [dev] = ipJson(box.ns('a'), 'addr', 'show', 'os0');
    expect(dev.flags).toContain('UP');
    expect(dev.addr_info.filter((a: { family: string }) => a.family === 'inet').map((a: { local: string }) => a.local)).toEqual(['10.66.0.1']);
    // Nothing in the other namespace.
    expect(ipJson(box.ns('b'), 'link', 'show').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
  });

  it('refuses calls after close() and fails the ones not yet sent with ClosedError', async () => {
    const { conn, links } = connect('b');
    const queued = links.add({ name: 'os1', kind: 'bridge' }); // still in this tick's queue
    conn.close();
    await expect(queued).rejects.toBeInstanceOf(ClosedError);
    await expect(links.add({ name: 'os2', kind: 'bridge' })).rejects.toBeInstanceOf(ClosedError);
    expect(ipJson(box.ns('b'), 'link', 'show').map((l: { ifname: string }) => l.ifname)).toEqual(['lo']);
  });

  it('sends requests only: a dump is refused without touching the kernel', async () => {
    const { links } = connect('b');
    await expect(links.list()).rejects.toThrow(/sends requests only/);
  });
});
