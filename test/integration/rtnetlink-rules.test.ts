// Policy routing rules, IPv4 and IPv6, every selector and action, made by
// nlkit and by ip, compared whole with `ip -j rule`.
import { describe, expect, it } from 'vitest';
import { NetlinkError, NotFoundError, ValidationError, type IpRule as Rule } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

const PROTO_NAMES: Record<number, string> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'ipv6-icmp' };

/** nlkit's rule in the shape `ip -j rule show` prints it. */
function ruleShape(r: Rule): Record<string, unknown> {
  const out: Record<string, unknown> = { priority: r.priority };
  if (r.invert) out.not = null;
  const [src, srclen] = r.src ? r.src.split('/') : ['all'];
  out.src = src;
  if (srclen !== undefined) out.srclen = Number(srclen);
  if (r.dst) {
    const [dst, dstlen] = r.dst.split('/');
    out.dst = dst;
    out.dstlen = Number(dstlen);
  }
  if (r.tos) out.tos = `0x${r.tos.toString(16)}`;
  if (r.fwmark !== undefined && (r.fwmark !== 0 || r.fwmask !== undefined)) out.fwmark = `0x${r.fwmark.toString(16)}`;
  if (r.fwmask !== undefined && r.fwmask !== 0xffffffff) out.fwmask = `0x${r.fwmask.toString(16)}`;
  if (r.iif) out.iif = r.iif;
  if (r.iifDetached) out.iif_detached = null;
  if (r.oif) out.oif = r.oif;
  if (r.oifDetached) out.oif_detached = null;
  if (r.uidRange) {
    out.uid_start = r.uidRange.start;
    out.uid_end = r.uidRange.end;
  }
  if (r.ipProto !== undefined) out.ipproto = PROTO_NAMES[r.ipProto] ?? String(r.ipProto);
  for (const [k, v] of [
    ['sport', r.sport],
    ['dport', r.dport],
  ] as const) {
    if (!v) continue;
    if (v.start === v.end) out[k] = v.start;
    else {
      out[`${k}_start`] = v.start;
      out[`${k}_end`] = v.end;
    }
  }
  if (r.action === 'to_tbl') out.table = r.table;
  else if (r.action === 'goto') out.goto = r.goto;
  else if (r.action === 'nop') out.nop = null;
  else out.action = r.action;
  if (r.unresolved) out.unresolved = null;
  if (r.suppressPrefixLength !== undefined) out.suppress_prefixlen = r.suppressPrefixLength;
  if (r.suppressIfgroup !== undefined) out.suppress_ifgroup = String(r.suppressIfgroup);
  if (r.protocol !== 'unspec' && r.protocol !== 'kernel') out.protocol = r.protocol;
  return out;
}

describe('rules', () => {
  const box = useNetns('p');
  const ns = () => box.ns('p');
  const h = () => box.h('p');

  async function expectSame(family: 4 | 6): Promise<void> {
    const ours = (await h().rules.list({ family })).map(ruleShape);
    const theirs = ipJson(ns(), `-${family}`, 'rule', 'show');
    expect(ours).toEqual(theirs); // same rules, same order, same fields
  }

  it('adds IPv4 rules with every selector and action; ip reads the same', async () => {
    const r = h().rules;
    await r.add({ priority: 1000, src: '10.2.0.0/16', dst: '10.3.0.0/24', iif: 'eth9', fwmark: 0x10, fwmask: 0xff, table: 100 });
    await r.add({ priority: 1001, oif: 'eth8', action: 'blackhole' });
    await r.add({ priority: 1002, src: '10.9.0.0/16', invert: true, action: 'prohibit' });
    await r.add({ priority: 1003, dst: '10.4.0.0/16', action: 'unreachable' });
    await r.add({ priority: 1004, action: 'nop' });
    await r.add({
      priority: 1005,
      table: 1_000_000,
      ipProto: 'tcp',
      dport: 80,
      sport: { start: 1000, end: 2000 },
      protocol: 'static',
      uidRange: { start: 100, end: 200 },
      suppressPrefixLength: 0,
    });
    await r.add({ priority: 1006, goto: 1008 });
    await r.add({ priority: 1007, tos: 0x10, table: 'main', fwmark: 7 });
    await r.add({ priority: 1008, table: 8, suppressIfgroup: 3 });
    await expectSame(4);

    const list = await r.list({ family: 4 });
    const at = (p: number) => list.find((x) => x.priority === p)!;
    expect(at(1000)).toMatchObject({
      src: '10.2.0.0/16',
      dst: '10.3.0.0/24',
      iif: 'eth9',
      iifDetached: true,
      fwmark: 16,
      fwmask: 255,
      table: '100',
      action: 'to_tbl',
    });
    expect(at(1001)).toMatchObject({ oif: 'eth8', action: 'blackhole' });
    expect(at(1002)).toMatchObject({ invert: true, action: 'prohibit' });
    expect(at(1003).action).toBe('unreachable');
    expect(at(1005)).toMatchObject({ tableId: 1_000_000, ipProto: 6, dport: { start: 80, end: 80 }, protocol: 'static', uidRange: { start: 100, end: 200 } });
    expect(at(1006)).toMatchObject({ action: 'goto', goto: 1008 });
    expect(at(1006).unresolved).toBeUndefined(); // its target exists
    expect(at(1007)).toMatchObject({ tos: 16, table: 'main' });
  });

  it('adds IPv6 rules', async () => {
    const r = h().rules;
    await r.add({ priority: 500, src: 'fd00::/64', table: 200 });
    await r.add({ priority: 501, src: 'fd00::/64', dst: 'fd01::/64', action: 'prohibit' });
    await r.add({ family: 6, priority: 502, fwmark: 0x20, action: 'blackhole' });
    await expectSame(6);
    const v6 = await h().rules.list({ family: 6 });
    expect(v6.find((x) => x.priority === 500)).toMatchObject({ family: 6, src: 'fd00::/64', table: '200' });
    expect(v6.find((x) => x.priority === 502)).toMatchObject({ fwmark: 0x20, action: 'blackhole' });
  });

  it('reads rules made by ip; filters by table and priority', async () => {
    ip(ns(), 'rule', 'add', 'pref', '2000', 'from', '10.50.0.0/16', 'to', '10.51.0.0/16', 'iif', 'lo', 'table', '250');
    ip(ns(), 'rule', 'add', 'pref', '2001', 'not', 'fwmark', '0x5/0xf', 'oif', 'lo', 'prohibit');
    ip(ns(), 'rule', 'add', 'pref', '2002', 'ipproto', 'udp', 'sport', '53', 'table', '251');
    ip(ns(), '-6', 'rule', 'add', 'pref', '2003', 'to', 'fd50::/48', 'unreachable');
    await expectSame(4);
    await expectSame(6);
    expect((await h().rules.list({ table: 250 })).map((x) => x.priority)).toEqual([2000]);
    expect((await h().rules.list({ table: 'main' })).map((x) => `${x.family}:${x.priority}`)).toEqual(['4:1007', '4:32766', '6:32766']);
    expect((await h().rules.list({ priority: 2003 })).map((x) => x.family)).toEqual([6]);
    const r2000 = (await h().rules.list({ priority: 2000 }))[0];
    expect(r2000).toMatchObject({ src: '10.50.0.0/16', dst: '10.51.0.0/16', iif: 'lo', table: '250' });
    expect(r2000.iifDetached).toBeUndefined();
  });

  it('deletes by priority or by selectors', async () => {
    const r = h().rules;
    await r.delete({ priority: 1001 });
    await r.delete({ src: '10.2.0.0/16', dst: '10.3.0.0/24', table: 100 });
    await r.delete({ priority: 500, family: 6 });
    expect(ipJson(ns(), 'rule', 'show', 'pref', '1001')).toEqual([]);
    expect(ipJson(ns(), 'rule', 'show', 'pref', '1000')).toEqual([]);
    expect(ipJson(ns(), '-6', 'rule', 'show', 'pref', '500')).toEqual([]);
    await expectSame(4);
    await expectSame(6);
  });

  it('reports refusals, and refuses bad input before sending', async () => {
    const r = h().rules;
    const dup = await r.add({ priority: 1003, dst: '10.4.0.0/16', action: 'unreachable' }).catch((x) => x);
    expect(dup).toBeInstanceOf(NetlinkError);
    expect(dup.code).toBe('EEXIST');
    const missing = await r.delete({ priority: 4242 }).catch((x) => x);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.code).toBe('ENOENT');
    expect(await r.delete({ priority: 4242 }, { missingOk: true })).toBe(false);
    const back = await r.add({ priority: 3000, goto: 10 }).catch((x) => x);
    expect(back.code).toBe('EINVAL');
    expect(back.extack).toBe('Backward goto not supported');

    await expect(r.add({ priority: 1, src: '10.0.0.0/33', table: 5 })).rejects.toBeInstanceOf(ValidationError);
    await expect(r.add({ priority: 1, src: 'fd00::/64', dst: '10.0.0.0/8' })).rejects.toBeInstanceOf(ValidationError);
    await expect(r.add({ priority: 1, action: 'blackhole', table: 5 })).rejects.toBeInstanceOf(ValidationError);
    await expect(r.add({ priority: 1, action: 'goto' })).rejects.toBeInstanceOf(ValidationError);
    await expect(r.add({ priority: 1, ipProto: 'bogus' })).rejects.toBeInstanceOf(ValidationError);
    await expect(r.add({ priority: 1, iif: 'x'.repeat(16) })).rejects.toBeInstanceOf(ValidationError);
  });
});
