// Alternative interface names (RTM_NEWLINKPROP/RTM_DELLINKPROP): added by
// nlkit and read back by `ip -j link`, added by ip and read back by nlkit,
// links looked up, changed and deleted by an alternative name (also one
// longer than an interface name), and refusals before anything is sent.
import { describe, expect, it } from 'vitest';
import { NetlinkError, NotFoundError, ValidationError } from '../../lib';
import { ip, ipJson, useNetns } from '../helpers/netns';

const LONG = 'an-alternative-name-longer-than-fifteen-bytes';

describe('link alternative names', () => {
  const box = useNetns('a');
  const h = () => box.h('a');
  const ipAltNames = (dev: string): string[] => (ipJson(box.ns('a'), 'link', 'show', 'dev', dev)[0].altnames as string[] | undefined) ?? [];

  it('links.add with altNames: ip -j link shows them, and nlkit reads them back', async () => {
    await h().links.add({ name: 'alt0', kind: 'bridge', altNames: ['alt0-second', LONG] });
    expect(ipAltNames('alt0')).toEqual(['alt0-second', LONG]);
    expect((await h().links.get('alt0')).altNames).toEqual(['alt0-second', LONG]);
    expect((await h().links.list({ name: 'alt0' }))[0].altNames).toEqual(['alt0-second', LONG]);
  });

  it('a link is found, changed and deleted by an alternative name, also a long one', async () => {
    const byLong = await h().links.get(LONG);
    expect(byLong.name).toBe('alt0');
    expect((await h().links.get('alt0-second')).index).toBe(byLong.index);
    await h().links.set(LONG, { mtu: 1400 });
    expect(ipJson(box.ns('a'), 'link', 'show', 'dev', 'alt0')[0].mtu).toBe(1400);
    expect((await h().linkStats.get(LONG)).index).toBe(byLong.index);
    expect(await h().links.delete(LONG)).toBe(true);
    expect(ipJson(box.ns('a'), 'link', 'show').map((l: { ifname: string }) => l.ifname)).not.toContain('alt0');
    await expect(h().links.get(LONG)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('names added by ip are read by nlkit; links.set makes the list exactly the one given', async () => {
    ip(box.ns('a'), 'link', 'add', 'alt1', 'type', 'bridge');
    ip(box.ns('a'), 'link', 'property', 'add', 'dev', 'alt1', 'altname', 'from-ip', 'altname', LONG);
    expect((await h().links.get('alt1')).altNames).toEqual(['from-ip', LONG]);
    await h().links.set('alt1', { altNames: [LONG, 'from-nlkit'] });
    expect(ipAltNames('alt1').sort()).toEqual([LONG, 'from-nlkit'].sort());
    // Renamed in the same call: the names stay with the link.
    await h().links.set('from-nlkit', { name: 'alt2', altNames: ['only-one'] });
    expect(ipAltNames('alt2')).toEqual(['only-one']);
    await h().links.set('alt2', { altNames: [] });
    expect(ipAltNames('alt2')).toEqual([]);
    expect((await h().links.get('alt2')).altNames).toBeUndefined();
  });

  it('a name the kernel refuses (taken by another link) fails the add, and the new link is gone again', async () => {
    const err = await h()
      .links.add({ name: 'alt3', kind: 'bridge', altNames: ['alt2'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).code).toBe('EEXIST');
    expect(await h().links.find('alt3')).toBeUndefined();
  });

  it('invalid names are ValidationErrors naming the field, before anything is sent', async () => {
    const cases: Array<[unknown, string]> = [
      [['a b'], 'altNames[0]'],
      [['x'.repeat(128)], 'altNames[0]'],
      [['ok', 'ok'], 'altNames[1]'],
      [['bad/name'], 'altNames[0]'],
      ['one', 'altNames'],
      [[''], 'altNames[0]'],
    ];
    for (const [altNames, field] of cases) {
      await expect(h().links.add({ name: 'alt4', kind: 'bridge', altNames } as never)).rejects.toMatchObject({ name: 'ValidationError', field });
      await expect(h().links.set('alt2', { altNames } as never)).rejects.toMatchObject({ name: 'ValidationError', field });
    }
    await expect(h().links.add({ name: 'alt4', kind: 'bridge', altNames: ['x'], netns: box.ns('a') })).rejects.toBeInstanceOf(ValidationError);
    await expect(h().links.get('x'.repeat(128))).rejects.toBeInstanceOf(ValidationError);
    expect(await h().links.find('alt4')).toBeUndefined();
    expect(ipAltNames('alt2')).toEqual([]);
  });
});
