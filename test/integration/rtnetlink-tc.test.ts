// Traffic control (h.qdiscs, h.classes) against the kernel, both ways with
// tc: what nlkit adds, `tc -j qdisc show` / `tc class show` show the same;
// what tc adds, nlkit lists with the same typed options. Foreign kinds read
// back raw; the verb table's missing rules hold.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { NotFoundError, openSync, ValidationError } from '../../lib';
import { useNetns } from '../helpers/netns';

const box = useNetns('tc');
const h = () => box.h('tc');

function tc(...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', box.ns('tc'), 'tc', ...args], { encoding: 'utf8' });
}
function tcJson<T = any>(...args: string[]): T {
  return JSON.parse(tc('-j', ...args) || '[]') as T;
}

/** `tc class show dev X` as objects (tc 6.1 prints HTB classes as text even with -j). */
function tcClasses(dev: string): Array<Record<string, string>> {
  return tc('-d', 'class', 'show', 'dev', dev)
    .split('\n')
    .filter((l) => l.startsWith('class '))
    .map((l) => {
      const w = l.trim().split(/\s+/);
      const o: Record<string, string> = { kind: w[1], classid: w[2] };
      if (w[3] === 'root') o.parent = 'root';
      for (const key of ['parent', 'leaf', 'prio', 'quantum', 'rate', 'ceil', 'burst', 'cburst', 'level']) {
        const i = w.indexOf(key);
        if (i > 0) o[key] = w[i + 1].replace(/\/\d+$/, '');
      }
      return o;
    });
}

let n = 0;
async function veth(): Promise<string> {
  const name = `tc${++n}`;
  await h().links.add({ name, kind: 'veth', up: true, peer: { name: `${name}p` } });
  await h().links.set(`${name}p`, { up: true });
  return name;
}

describe('qdiscs', () => {
  it('a TBF added by nlkit: tc shows the same rate, burst, latency', async () => {
    const dev = await veth();
    await h().qdiscs.add({ link: dev, kind: 'tbf', options: { rate: '8mbit', burst: '32kb', latency: '50ms' } });
    const [q] = tcJson('qdisc', 'show', 'dev', dev);
    expect(q).toMatchObject({ kind: 'tbf', root: true, options: { rate: 1_000_000, burst: 32768, lat: 50000 } });
    const mine = await h().qdiscs.get({ link: dev, parent: 'root' });
    expect(mine).toMatchObject({ kind: 'tbf', handle: q.handle, parent: 'root', linkName: dev, options: { rate: 8_000_000, burst: 32768 } });
  });

  it('a TBF added by tc: nlkit lists the same typed options, equal to its own add of the same', async () => {
    const a = await veth();
    const b = await veth();
    tc('qdisc', 'add', 'dev', a, 'root', 'handle', '5:', 'tbf', 'rate', '3mbit', 'burst', '10kb', 'latency', '70ms', 'peakrate', '4mbit', 'mtu', '1540');
    await h().qdiscs.add({ link: b, handle: '5:', kind: 'tbf', options: { rate: 3_000_000, burst: 10240, latency: '70ms', peakrate: '4mbit', mtu: 1540 } });
    const byTc = await h().qdiscs.get({ link: a, handle: '5:' });
    const byNlkit = await h().qdiscs.get({ link: b, handle: '5:' });
    const [shown] = tcJson('qdisc', 'show', 'dev', b);
    const [shownTc] = tcJson('qdisc', 'show', 'dev', a);
    expect(shown.options).toEqual(shownTc.options);
    // The burst comes back from the kernel's time in ticks, as tc computes it (10239: truncated twice).
    expect(byTc).toMatchObject({
      kind: 'tbf',
      handle: '5:',
      parent: 'root',
      options: { rate: 3_000_000, burst: shownTc.options.burst, peakrate: 4_000_000, mtu: 1540 },
    });
    expect(byNlkit.options).toEqual(byTc.options);
  });

  it('HTB with classes both ways: nlkit adds, tc shows; tc adds, nlkit lists', async () => {
    const a = await veth();
    await h().qdiscs.add({ link: a, kind: 'htb', handle: '1:', options: { default: '20', r2q: 5 } });
    await h().classes.add({ link: a, classid: '1:1', kind: 'htb', options: { rate: '20mbit' } });
    await h().classes.add({ link: a, classid: '1:10', parent: '1:1', kind: 'htb', options: { rate: '5mbit', ceil: '10mbit', prio: 1 } });
    await h().classes.add({ link: a, classid: '1:20', parent: '1:1', kind: 'htb', options: { rate: '2mbit', burst: '15k', quantum: 3000 } });
    const [q] = tcJson('qdisc', 'show', 'dev', a);
    expect(q).toMatchObject({ kind: 'htb', handle: '1:', root: true, options: { r2q: 5, default: '0x20' } });
    const shown = tcClasses(a);
    expect(shown).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ classid: '1:1', parent: 'root', rate: '20Mbit', ceil: '20Mbit', burst: '1600b' }),
        expect.objectContaining({ classid: '1:10', parent: '1:1', prio: '1', rate: '5Mbit', ceil: '10Mbit', burst: '1600b', cburst: '1600b' }),
        expect.objectContaining({ classid: '1:20', parent: '1:1', prio: '0', quantum: '3000', rate: '2Mbit', ceil: '2Mbit', burst: '15Kb' }),
      ]),
    );

    const b = await veth();
    tc('qdisc', 'add', 'dev', b, 'root', 'handle', '1:', 'htb', 'default', '20', 'r2q', '5');
    tc('class', 'add', 'dev', b, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '20mbit');
    tc('class', 'add', 'dev', b, 'parent', '1:1', 'classid', '1:10', 'htb', 'rate', '5mbit', 'ceil', '10mbit', 'prio', '1');
    tc('class', 'add', 'dev', b, 'parent', '1:1', 'classid', '1:20', 'htb', 'rate', '2mbit', 'burst', '15k', 'quantum', '3000');
    const qb = await h().qdiscs.get({ link: b, parent: 'root' });
    expect(qb).toMatchObject({ kind: 'htb', handle: '1:', options: { default: 0x20, r2q: 5 } });
    const mine = await h().classes.list({ link: a });
    const theirs = await h().classes.list({ link: b });
    const strip = (cs: typeof mine) =>
      cs.map(({ classid, parent, kind, options }) => ({ classid, parent, kind, options })).sort((x, y) => x.classid.localeCompare(y.classid));
    expect(strip(mine)).toEqual(strip(theirs));
    expect(strip(theirs)).toEqual([
      { classid: '1:1', parent: 'root', kind: 'htb', options: { rate: 20e6, ceil: 20e6, burst: 1600, cburst: 1600, prio: 0, quantum: 200000, level: 7 } }, // rate / r2q, clamped by the kernel,
      { classid: '1:10', parent: '1:1', kind: 'htb', options: { rate: 5e6, ceil: 10e6, burst: 1600, cburst: 1600, prio: 1, quantum: 125000, level: 0 } },
      { classid: '1:20', parent: '1:1', kind: 'htb', options: { rate: 2e6, ceil: 2e6, burst: 15360, cburst: 1600, prio: 0, quantum: 3000, level: 0 } },
    ]);
    // A listed class goes back in as it is.
    const c20 = theirs.find((c) => c.classid === '1:20')!;
    if (c20.kind !== 'htb') throw new Error('kind');
    await h().classes.replace({ ...c20, options: { ...c20.options, rate: '3mbit' } });
    expect((await h().classes.get({ link: b, classid: '1:20' })).options).toMatchObject({ rate: 3e6, burst: 15360, quantum: 3000 });
    expect(tcClasses(b).find((c) => c.classid === '1:20')).toMatchObject({ rate: '3Mbit' });
  });

  it('ingress and clsact: added at their own place, shown by tc, deleted by parent', async () => {
    const a = await veth();
    const b = await veth();
    await h().qdiscs.add({ link: a, kind: 'ingress' });
    await h().qdiscs.add({ link: b, kind: 'clsact' });
    expect(tcJson('qdisc', 'show', 'dev', a)).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'ingress', handle: 'ffff:', parent: 'ffff:fff1' })]),
    );
    expect(tcJson('qdisc', 'show', 'dev', b)).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'clsact', handle: 'ffff:', parent: 'ffff:fff1' })]),
    );
    expect(await h().qdiscs.get({ link: a, parent: 'ingress' })).toMatchObject({ kind: 'ingress', handle: 'ffff:', parent: 'ffff:fff1', options: {} });
    expect(await h().qdiscs.delete({ link: a, parent: 'ingress' })).toBe(true);
    const listed = await h().qdiscs.get({ link: b, handle: 'ffff:' });
    expect(await h().qdiscs.delete(listed)).toBe(true);
    expect(tcJson('qdisc', 'show', 'dev', a).some((q: { kind: string }) => q.kind === 'ingress')).toBe(false);
    expect(tcJson('qdisc', 'show', 'dev', b).some((q: { kind: string }) => q.kind === 'clsact')).toBe(false);
    tc('qdisc', 'add', 'dev', a, 'ingress');
    expect(await h().qdiscs.find({ link: a, parent: 'ingress' })).toMatchObject({ kind: 'ingress' });
  });

  it('kinds nlkit does not decode read back with their options raw', async () => {
    const a = await veth();
    tc('qdisc', 'add', 'dev', a, 'root', 'handle', '7:', 'pfifo', 'limit', '123');
    const q = await h().qdiscs.get({ link: a, handle: '7:' });
    expect(q).toMatchObject({ kind: 'pfifo', handle: '7:', parent: 'root', options: {} });
    if (!('optionsRaw' in q) || !q.optionsRaw) throw new Error('no raw options');
    expect(q.optionsRaw.readUInt32LE(0)).toBe(123); // struct tc_fifo_qopt { limit }
    expect(await h().qdiscs.delete(q)).toBe(true);
  });

  it('replace swaps the root qdisc (and changes its rate); list filters by link and kind', async () => {
    const a = await veth();
    await h().qdiscs.replace({ link: a, kind: 'tbf', options: { rate: '1mbit', burst: '10kb', limit: 20000 } });
    await h().qdiscs.replace({ link: a, kind: 'tbf', options: { rate: '2mbit', burst: '10kb', limit: 20000 } });
    expect(tcJson('qdisc', 'show', 'dev', a)[0]).toMatchObject({ kind: 'tbf', options: { rate: 250000 } });
    // Rates from 2^32 bytes/s on travel in TCA_TBF_RATE64 (the 32-bit field says ~0).
    await h().qdiscs.replace({ link: a, kind: 'tbf', options: { rate: '40gbit', burst: '1mb', limit: '10mb' } });
    const [fast] = tcJson('qdisc', 'show', 'dev', a);
    expect(fast).toMatchObject({ kind: 'tbf', options: { rate: 5_000_000_000 } });
    // At 5 GB/s a microsecond is 5000 bytes and tc shows the burst back in whole microseconds: 1045000 by both.
    expect((await h().qdiscs.get({ link: a, parent: 'root' })).options).toEqual({ rate: 40e9, burst: fast.options.burst, limit: 10485760 });
    await h().qdiscs.replace({ link: a, kind: 'htb', handle: '1:' });
    expect(await h().qdiscs.list({ link: a })).toEqual([expect.objectContaining({ kind: 'htb', handle: '1:', linkName: a })]);
    await h().classes.add({ link: a, classid: '1:5', kind: 'htb', options: { rate: '100gbit', ceil: '120gbit' } });
    expect((await h().classes.get({ link: a, classid: '1:5' })).options).toMatchObject({ rate: 100e9, ceil: 120e9 });
    expect(tcClasses(a)[0]).toMatchObject({ classid: '1:5', rate: '100Gbit', ceil: '120Gbit' });
    expect((await h().qdiscs.list({ kind: 'htb' })).map((q) => q.linkName)).toContain(a);
    await expect(h().qdiscs.add({ link: a, kind: 'htb', handle: '2:' })).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('missing qdiscs and classes: NotFoundError, or false with missingOk', async () => {
    const a = await veth();
    await expect(h().qdiscs.get({ link: a, parent: 'ingress' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await h().qdiscs.find({ link: a, handle: '9:' })).toBeUndefined();
    await expect(h().qdiscs.delete({ link: a, parent: 'ingress' })).rejects.toMatchObject({ name: 'NotFoundError', what: 'qdisc' });
    expect(await h().qdiscs.delete({ link: a, parent: 'ingress' }, { missingOk: true })).toBe(false);
    expect(await h().qdiscs.delete({ link: a, handle: '9:' }, { missingOk: true })).toBe(false);
    expect(await h().qdiscs.delete({ link: 'nosuchdev', parent: 'root' }, { missingOk: true })).toBe(false);
    await h().qdiscs.add({ link: a, kind: 'htb', handle: '1:' });
    await expect(h().classes.delete({ link: a, classid: '1:10' })).rejects.toMatchObject({ name: 'NotFoundError', what: 'class' });
    expect(await h().classes.delete({ link: a, classid: '1:10' }, { missingOk: true })).toBe(false);
    await expect(h().classes.get({ link: a, classid: '1:10' })).rejects.toBeInstanceOf(NotFoundError);
    await h().classes.add({ link: a, classid: '1:10', kind: 'htb', options: { rate: '1mbit' } });
    expect(await h().classes.delete({ link: a, classid: '1:10' })).toBe(true);
    expect(tcClasses(a)).toEqual([]);
  });

  it('refuses bad input before sending: nothing changes', async () => {
    const a = await veth();
    const bad: Array<[unknown, string]> = [
      [{ link: a, kind: 'tbf', options: { rate: '8mbit', burst: '32kb' } }, 'limit'],
      [{ link: a, kind: 'tbf', options: { rate: '8 parsecs', burst: '32kb', latency: '50ms' } }, 'rate'],
      [{ link: a, kind: 'tbf', options: { rate: '8mbit', burst: '32kb', latency: '50ms', burts: 1 } }, 'tbf options'],
      [{ link: a, kind: 'tbf', handle: '1:10', options: { rate: '8mbit', burst: '32kb', latency: '50ms' } }, 'handle'],
      [{ link: a, kind: 'sfq' }, 'kind'],
      [{ link: a, kind: 'htb', parent: '1:x' }, 'parent'],
    ];
    for (const [opts, field] of bad) {
      await expect(h().qdiscs.add(opts as never), JSON.stringify(opts)).rejects.toMatchObject({ name: 'ValidationError', field });
    }
    expect(tcJson('qdisc', 'show', 'dev', a).map((q: { kind: string }) => q.kind)).toEqual(['noqueue']);
  });

  it('the blocking handle has the same families', async () => {
    const a = await veth();
    const hs = openSync({ netns: box.ns('tc') });
    try {
      hs.qdiscs.add({ link: a, kind: 'htb', handle: '3:', options: { default: 1 } });
      hs.classes.add({ link: a, classid: '3:1', kind: 'htb', options: { rate: 1e6 } });
      expect(hs.qdiscs.get({ link: a, parent: 'root' })).toMatchObject({ kind: 'htb', handle: '3:', options: { default: 1 } });
      expect(hs.classes.list({ link: a })).toEqual([expect.objectContaining({ classid: '3:1', options: expect.objectContaining({ rate: 1e6 }) })]);
      expect(() => hs.classes.add({ link: a, classid: '3:0', kind: 'htb', options: { rate: 1e6 } })).toThrow(ValidationError);
    } finally {
      hs.close();
    }
  });
});
