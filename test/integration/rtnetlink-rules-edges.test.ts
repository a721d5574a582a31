// Policy routing rules at the edges a user reaches with `ip rule` equivalents:
// each case was wrong once, and is checked here against `ip -j rule`.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

describe('rules at the edges', () => {
  const box = useNetns('r');
  const ns = () => box.ns('r');
  const h = () => box.h('r');

  it('adds an l3mdev rule (the VRF table: no table of its own), reads and deletes it as ip does', async () => {
    const r = h().rules;
    // The kernel refused it: a "main" table was sent by default ("l3mdev and table are mutually exclusive").
    await r.add({ priority: 1000, l3mdev: true });
    ip(ns(), '-6', 'rule', 'add', 'pref', '1000', 'l3mdev');
    expect(ipJson(ns(), 'rule', 'show', 'pref', '1000')).toEqual([{ priority: 1000, src: 'all', l3mdev: null }]);
    for (const family of [4, 6] as const) {
      const got = await r.get({ family, priority: 1000 });
      expect(got).toMatchObject({ family, priority: 1000, action: 'to_tbl', l3mdev: true });
      // The kernel's table 0 is no table: ip prints "lookup [l3mdev-table]".
      expect(got.table).toBeUndefined();
      expect(got.tableId).toBeUndefined();
      expect(await r.delete(got)).toBe(true);
    }
    expect(ipJson(ns(), 'rule', 'show', 'pref', '1000')).toEqual([]);
    expect(ipJson(ns(), '-6', 'rule', 'show', 'pref', '1000')).toEqual([]);
    const both = await r.add({ priority: 1001, l3mdev: true, table: 10 }).catch((e: unknown) => e);
    expect(both).toBeInstanceOf(ValidationError);
    expect((both as ValidationError).field).toBe('table');
  });

  it('refuses table 0 on add (the kernel would pick an unused table, as ip rule add ... table 0 gets), adding nothing', async () => {
    const r = h().rules;
    // What the kernel does with table 0: a table of its choosing, which add() could not report.
    ip(ns(), 'rule', 'add', 'pref', '1200', 'from', '10.12.0.0/16', 'table', '0');
    const chosen = ipJson(ns(), 'rule', 'show', 'pref', '1200') as Array<{ table: string }>;
    expect(chosen).toHaveLength(1);
    expect(chosen[0].table).not.toBe('0');
    ip(ns(), 'rule', 'del', 'pref', '1200');
    for (const family of [4, 6] as const) {
      for (const table of [0, '0']) {
        const err = await r.add({ family, priority: 1201, table }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field).toBe('table');
        expect(String((err as Error).message)).toMatch(/unused table/);
      }
    }
    expect(ipJson(ns(), 'rule', 'show', 'pref', '1201')).toEqual([]);
    expect(ipJson(ns(), '-6', 'rule', 'show', 'pref', '1201')).toEqual([]);
  });

  it('reads a mark of 0 under a mask (fwmark 0/0xff) as ip does, and finds and deletes the rule by it', async () => {
    const r = h().rules;
    ip(ns(), 'rule', 'add', 'pref', '1100', 'fwmark', '0/0xff', 'table', '5');
    await r.add({ family: 6, priority: 1100, fwmark: 0, fwmask: 0xff00, table: 6 });
    expect(ipJson(ns(), 'rule', 'show', 'pref', '1100')).toEqual([{ priority: 1100, src: 'all', fwmark: '0', fwmask: '0xff', table: '5' }]);
    expect(ipJson(ns(), '-6', 'rule', 'show', 'pref', '1100')).toEqual([{ priority: 1100, src: 'all', fwmark: '0', fwmask: '0xff00', table: '6' }]);
    // The kernel sends the mask alone: the mark read as absent (a rule matching any mark), and a key with fwmark 0 found nothing.
    expect(await r.get({ priority: 1100, fwmark: 0 })).toMatchObject({ fwmark: 0, fwmask: 0xff, tableId: 5 });
    expect(await r.get({ family: 6, priority: 1100, fwmark: 0, fwmask: 0xff00 })).toMatchObject({ fwmark: 0, fwmask: 0xff00, tableId: 6 });
    for (const rule of await r.list({ priority: 1100 })) expect(await r.delete(rule)).toBe(true);
    expect(ipJson(ns(), 'rule', 'show', 'pref', '1100')).toEqual([]);
    expect(ipJson(ns(), '-6', 'rule', 'show', 'pref', '1100')).toEqual([]);
  });

  it('refuses before sending what the kernel would refuse or misread: ports 0 and 65535, a uid range that is no object, a flag that is no boolean', async () => {
    const r = h().rules;
    // ip refuses them too; the kernel's own answer is "Invalid sport range".
    const refused = (o: object) => r.add({ priority: 1200, table: 5, ...o }).catch((e: unknown) => e);
    for (const [o, field] of [
      [{ ipProto: 'tcp', dport: 0 }, 'dport.start'],
      [{ ipProto: 'tcp', sport: 65535 }, 'sport.start'],
      [{ ipProto: 'udp', dport: { start: 1000, end: 65535 } }, 'dport.end'],
      [{ uidRange: null }, 'uidRange'], // was a TypeError
      [{ uidRange: 5 }, 'uidRange'],
      [{ invert: 'no' }, 'invert'], // was an inverted rule
      [{ invert: 0 }, 'invert'],
      [{ l3mdev: 'false' }, 'l3mdev'],
    ] as const) {
      const e = await refused(o);
      expect(e, JSON.stringify(o)).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe(field);
    }
    expect(ipJson(ns(), 'rule', 'show', 'pref', '1200')).toEqual([]);
    // The edges the kernel takes are taken.
    await r.add({
      priority: 1201,
      ipProto: 'tcp',
      sport: 1,
      dport: { start: 1, end: 65534 },
      uidRange: { start: 0, end: 0xfffffffe },
      invert: false,
      table: 5,
    });
    expect(ipJson(ns(), 'rule', 'show', 'pref', '1201')).toEqual([
      { priority: 1201, src: 'all', ipproto: 'tcp', sport: 1, dport_start: 1, dport_end: 65534, uid_start: 0, uid_end: 4294967294, table: '5' },
    ]);
  });

  it('refuses a list filter priority that is no priority, instead of listing nothing', async () => {
    ip(ns(), 'rule', 'add', 'pref', '1300', 'table', '5');
    expect((await h().rules.list({ priority: 1300 })).map((x) => x.priority)).toEqual([1300]);
    // '1300' (a string from a command line) listed nothing: no rule has a string priority.
    for (const priority of ['1300', -1, 1.5, 2 ** 32]) {
      const e = await h()
        .rules.list({ priority: priority as number })
        .catch((x: unknown) => x);
      expect(e, String(priority)).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe('priority');
    }
  });

  it('writes back the realms and tunnel id of a listed rule (they were read and dropped: "realms 3/4 blackhole" came back as "blackhole")', async () => {
    const r = h().rules;
    ip(ns(), 'rule', 'add', 'pref', '1400', 'realms', '3/4', 'blackhole');
    ip(ns(), 'rule', 'add', 'pref', '1401', 'tun_id', '7', 'prohibit');
    const shown = ipJson(ns(), 'rule', 'show');
    const listed = (await r.list({ family: 4 })).filter((x) => x.priority === 1400 || x.priority === 1401);
    expect(listed.map((x) => [x.flow, x.tunId])).toEqual([
      [(3 << 16) | 4, undefined],
      [undefined, 7n],
    ]);
    for (const x of listed) {
      expect(await r.get(x)).toEqual(x);
      expect(await r.delete(x)).toBe(true);
      await r.add(x);
    }
    expect(ipJson(ns(), 'rule', 'show')).toEqual(shown);
    // The key holds them too: another realm or tunnel id names no rule.
    expect(await r.find({ priority: 1400, flow: 5 })).toBeUndefined();
    expect(await r.find({ priority: 1401, tunId: 8 })).toBeUndefined();
    await r.add({ priority: 1402, tunId: 2n ** 64n - 1n, action: 'blackhole' });
    expect(ip(ns(), 'rule', 'show', 'pref', '1402')).toMatch(/^1402:\s+from all tun_id 18446744073709551615 blackhole\s*$/);
    for (const bad of [
      { family: 6, priority: 1403, flow: 1 },
      { priority: 1403, flow: -1 },
      { priority: 1403, tunId: 2n ** 64n },
      { priority: 1403, tunId: 1.5 },
    ]) {
      const e = await r.add(bad as never).catch((x: unknown) => x);
      expect(
        e,
        JSON.stringify(bad, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      ).toBeInstanceOf(ValidationError);
    }
  });
});
