// IPv6 address labels (h.addressLabels, RTM_*ADDRLABEL) against
// `ip -j addrlabel list`, both ways; the effect on source address selection
// (RFC 6724 rule 6) as the kernel's route lookup reports it; refusals.
import { describe, expect, it } from 'vitest';
import { NetlinkError, NotFoundError, type AddressLabel } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

interface IpLabel {
  address: string;
  prefixlen: number;
  label: number;
  ifname?: string;
}

/** nlkit's entry in the shape `ip -j addrlabel list` prints it. */
function ipShape(e: AddressLabel): IpLabel {
  const [address, len] = e.prefix.split('/');
  const out: IpLabel = { address, prefixlen: Number(len), label: e.label };
  if (e.linkName) out.ifname = e.linkName;
  return out;
}

describe('IPv6 address labels', () => {
  const box = useNetns('a');
  const h = () => box.h('a');
  const fromIp = () => ipJson<IpLabel[]>(box.ns('a'), 'addrlabel', 'list');

  it("lists the namespace's default table as ip does", async () => {
    const table = await h().addressLabels.list();
    expect(table.length).toBeGreaterThan(5);
    expect(table.map(ipShape)).toEqual(fromIp());
    expect(table).toContainEqual({ prefix: '::1/128', label: 0 });
  });

  it('entries added by nlkit show in ip, entries added by ip in nlkit; replace changes the label', async () => {
    await h().links.add({ name: 'lbl0', kind: 'bridge', up: true });
    await h().addressLabels.add({ prefix: '2001:db8:1::/48', label: 100 });
    await h().addressLabels.add({ prefix: '2001:db8:2::7/48', label: 101, link: 'lbl0' }); // host bits cleared, as ip does
    ip(box.ns('a'), 'addrlabel', 'add', 'prefix', '2001:db8:3::/48', 'label', '102');
    const ours = await h().addressLabels.list({ label: 101 });
    expect(ours).toEqual([{ prefix: '2001:db8:2::/48', label: 101, link: ours[0].link, linkName: 'lbl0' }]);
    expect((await h().addressLabels.list()).map(ipShape)).toEqual(fromIp());
    expect(fromIp()).toContainEqual({ address: '2001:db8:2::', prefixlen: 48, ifname: 'lbl0', label: 101 });
    expect(await h().addressLabels.get({ prefix: '2001:db8:3::/48' })).toEqual({ prefix: '2001:db8:3::/48', label: 102 });
    await expect(h().addressLabels.add({ prefix: '2001:db8:1::/48', label: 7 })).rejects.toMatchObject({ code: 'EEXIST' });
    await h().addressLabels.replace({ prefix: '2001:db8:1::/48', label: 7 });
    // One entry with the new label (the kernel alone would add a second one here, behind 2001:db8:3::/48).
    expect(fromIp().filter((e) => e.address === '2001:db8:1::')).toEqual([{ address: '2001:db8:1::', prefixlen: 48, label: 7 }]);
    // The entry on lbl0 and the one for every link are different entries.
    expect(await h().addressLabels.find({ prefix: '2001:db8:2::/48' })).toBeUndefined();
  });

  it('listed entries are keys: delete removes them; a missing one is NotFoundError, or false with missingOk', async () => {
    for (const e of await h().addressLabels.list()) if (e.prefix.startsWith('2001:db8:')) expect(await h().addressLabels.delete(e)).toBe(true);
    expect(fromIp().filter((e) => e.address.startsWith('2001:db8:'))).toEqual([]);
    await expect(h().addressLabels.delete({ prefix: '2001:db8:1::/48' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await h().addressLabels.delete({ prefix: '2001:db8:1::/48' }, { missingOk: true })).toBe(false);
    expect(await h().addressLabels.delete({ prefix: '2001:db8:1::/48', link: 'nosuch0' }, { missingOk: true })).toBe(false);
    await expect(h().addressLabels.get({ prefix: '2001:db8:1::/48' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a label picks the source address the kernel uses (RFC 6724 rule 6)', async () => {
    await h().addresses.add('lbl0', '2001:db8:10::1/64', { nodad: true });
    await h().addresses.add('lbl0', '2001:db8:20::1/64', { nodad: true });
    await h().routes.add({ dst: '2001:db8:99::/64', link: 'lbl0' });
    // Without labels both sources have label 1 (::/0) and a later rule decides; a label shared with the destination wins over that.
    const before = (await h().routes.lookup('2001:db8:99::5')).prefsrc;
    const other = before === '2001:db8:10::1' ? '2001:db8:20::' : '2001:db8:10::';
    await h().addressLabels.add({ prefix: '2001:db8:99::/64', label: 500 });
    await h().addressLabels.add({ prefix: `${other}/64`, label: 500 });
    const after = (await h().routes.lookup('2001:db8:99::5')).prefsrc;
    expect(after).toBe(`${other}1`);
    expect(ipJson(box.ns('a'), 'route', 'get', '2001:db8:99::5')[0].prefsrc).toBe(after);
  });

  it('wrong options are ValidationErrors naming the field, before anything is sent', async () => {
    const before = fromIp();
    const cases: Array<[unknown, string]> = [
      [{ prefix: '10.0.0.0/8', label: 1 }, 'prefix'],
      [{ prefix: '2001:db8::', label: 1 }, 'prefix'],
      [{ prefix: '2001:db8::/129', label: 1 }, 'prefix'],
      [{ prefix: '2001:db8::/32', label: 0xffffffff }, 'label'],
      [{ prefix: '2001:db8::/32', label: -1 }, 'label'],
      [{ prefix: '2001:db8::/32', label: 1.5 }, 'label'],
      [{ prefix: '2001:db8::/32' }, 'label'],
      [{ prefix: '2001:db8::/32', label: 1, lable: 2 }, 'address label'],
    ];
    for (const [opts, field] of cases) await expect(h().addressLabels.add(opts as never)).rejects.toMatchObject({ name: 'ValidationError', field });
    await expect(h().addressLabels.delete({ prefix: '2001:db8::/32', tabel: 1 } as never)).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(h().addressLabels.list({ dev: 'lo' } as never)).rejects.toMatchObject({ name: 'ValidationError' });
    const missingLink = await h()
      .addressLabels.add({ prefix: '2001:db8::/32', label: 1, link: 'nosuch0' })
      .catch((e: unknown) => e);
    expect(missingLink).toBeInstanceOf(NetlinkError);
    expect(fromIp()).toEqual(before);
  });
});
