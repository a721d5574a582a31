// reconcile() never adopts a link that took a network's bridge name: nlkit's bridge was deleted with `ip`, and
// someone made a bridge (or a veth) under its name. check() reports `bridge-foreign` for the network; reconcile()
// leaves that link as it is (no address, no up, no port, no route_localnet, no delete), says so with an
// NLKIT_FOREIGN_LINK_LEFT warning, and re-makes none of the network's attachments (they would become the link's
// ports). Removing the link lets the next reconcile() make the bridge anew. nlkit's own bridge, unmarked with
// `ip link set … alias ''` but with the MAC the network recorded, is still repaired. A network recorded by 0.1.0
// (no MAC) proves its unmarked bridge only by the gateway on it: without it, the bridge is left too. Links are
// made and read back with `ip -j` in a test namespace.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { networks } from '../../lib/network/manager';
import { useForeignLinkHost } from '../helpers/foreign-links';
import { ipJson } from '../helpers/netns';
import { oldNetworkState } from '../helpers/old-network-state';

describe("reconcile() and a link that took a network's bridge name", () => {
  const lab = useForeignLinkHost('t12', ['fa', 'fb', 'fc']);
  type IpLink = { ifname: string; ifindex: number; address: string; ifalias?: string; flags: string[]; master?: string; operstate: string };
  const linkNamed = (name: string) => (ipJson(lab.host(), 'link', 'show') as IpLink[]).find((l) => l.ifname === name);
  const addressesOf = (name: string): string[] =>
    ((ipJson(lab.host(), 'address', 'show', 'dev', name) as Array<{ addr_info: Array<{ local: string; scope: string }> }>)[0]?.addr_info ?? [])
      .filter((a) => a.scope !== 'link') // the kernel's IPv6 link-local of a link that is up
      .map((a) => a.local);
  const portsOf = (name: string) => (ipJson(lab.host(), 'link', 'show', 'master', name) as IpLink[]).map((l) => l.ifname);
  const routeLocalnet = (name: string) =>
    execFileSync('ip', ['netns', 'exec', lab.host(), 'cat', `/proc/sys/net/ipv4/conf/${name}/route_localnet`], { encoding: 'utf8' }).trim();
  const nftTables = (): string[] =>
    (
      JSON.parse(execFileSync('ip', ['netns', 'exec', lab.host(), 'nft', '-j', 'list', 'tables'], { encoding: 'utf8' })) as {
        nftables: Array<{ table?: { name: string } }>;
      }
    ).nftables
      .filter((x) => x.table)
      .map((x) => x.table?.name ?? '');
  const nextTick = () => new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  /** check()'s drift of network `network`'s bridge. */
  const bridgeDrift = async (network: string) =>
    (await lab.nets.check())
      .filter((d) => d.network === network && ['bridge-missing', 'bridge-down', 'gateway-missing', 'bridge-foreign'].includes(d.kind))
      .map((d) => ({ network: d.network, kind: d.kind, link: d.link, detail: d.detail }));

  it('a bridge made with ip under the name: reported, left as it is (no address, still down, no ports), warned about', async () => {
    await lab.nets.create({ name: 'fa', subnet: '10.97.1.0/24', bridge: 't12-fa' });
    const att = await lab.nets.attach('fa', { sandbox: lab.sandbox('faa'), create: true });
    const lost = await lab.nets.attach('fa', { sandbox: lab.sandbox('fab'), create: true });
    lab.ipHost('link', 'del', lost.hostIfname); // this attachment's veth goes: reconcile would re-make it (veth-missing)
    lab.ipHost('link', 'del', 't12-fa'); // nlkit's bridge goes (its other port stays, without a master) ...
    lab.ipHost('link', 'add', 't12-fa', 'type', 'bridge'); // ... and someone makes one under its name: unmarked, another MAC, down
    const theirs = linkNamed('t12-fa');
    expect(theirs?.flags).not.toContain('UP');
    expect(routeLocalnet('t12-fa')).toBe('0');
    execFileSync('ip', ['netns', 'exec', lab.host(), 'nft', 'delete', 'table', 'inet', 'nlkit']); // the firewall repair runs too

    const drift = await bridgeDrift('fa');
    const found = await lab.nets.reconcile();
    await nextTick();
    // The kernel first: the link is as it was.
    expect(linkNamed('t12-fa')).toMatchObject({ ifindex: theirs?.ifindex, address: theirs?.address });
    expect(linkNamed('t12-fa')?.ifalias).toBeUndefined();
    expect(linkNamed('t12-fa')?.flags).not.toContain('UP');
    expect(addressesOf('t12-fa')).toEqual([]);
    expect(portsOf('t12-fa')).toEqual([]); // no attachment was re-made onto it
    expect(linkNamed(att.hostIfname)?.master).toBeUndefined();
    expect(linkNamed(lost.hostIfname)).toBeUndefined();
    expect(routeLocalnet('t12-fa')).toBe('0');
    expect(nftTables()).toContain('nlkit'); // the firewall was repaired
    // What was said: check() before and after, reconcile()'s result, the warning.
    expect(drift).toEqual([
      {
        network: 'fa',
        kind: 'bridge-foreign',
        link: 't12-fa',
        detail: expect.stringMatching(/^t12-fa \(index \d+\) is an unmarked bridge with MAC .* not the .* MAC of network fa's bridge/),
      },
    ]);
    expect(found.filter((d) => d.network === 'fa').map((d) => [d.kind, d.id])).toEqual([
      ['bridge-foreign', undefined],
      ['veth-missing', lost.id],
    ]);
    expect(lab.foreignWarnings()).toEqual([
      expect.stringMatching(
        /^reconcile: t12-fa, network fa's bridge name, reaches a link nlkit left untouched: t12-fa \(index \d+\) is an unmarked bridge with MAC/,
      ),
    ]);
    expect(await bridgeDrift('fa')).toEqual(drift); // still not healthy, the same way

    // The remedy the drift names: the link goes, and the next reconcile makes the bridge anew with its port.
    lab.ipHost('link', 'del', 't12-fa');
    await lab.nets.reconcile();
    expect(linkNamed('t12-fa')).toMatchObject({ address: (await lab.nets.get('fa')).mac });
    expect(linkNamed('t12-fa')?.flags).toContain('UP');
    expect(addressesOf('t12-fa')).toEqual(['10.97.1.1']);
    expect(portsOf('t12-fa').sort()).toEqual([att.hostIfname, lost.hostIfname].sort());
    expect(await lab.nets.check()).toEqual([]);
    expect(await lab.nets.delete('fa')).toBe(true);
  });

  it('a veth end named like the bridge: reported, left as it is (no address, still down), warned about', async () => {
    await lab.nets.create({ name: 'fb', subnet: '10.97.2.0/24', bridge: 't12-fb' });
    lab.ipHost('link', 'del', 't12-fb');
    lab.ipHost('link', 'add', 't12-fb', 'type', 'veth', 'peer', 'name', 't12-fbp');
    const theirs = linkNamed('t12-fb');
    try {
      const drift = await bridgeDrift('fb');
      await lab.nets.reconcile();
      await nextTick();
      expect(linkNamed('t12-fb')).toMatchObject({ ifindex: theirs?.ifindex });
      expect(linkNamed('t12-fb')?.flags).not.toContain('UP');
      expect(addressesOf('t12-fb')).toEqual([]);
      expect(drift).toEqual([
        { network: 'fb', kind: 'bridge-foreign', link: 't12-fb', detail: expect.stringMatching(/^t12-fb \(index \d+\) is a veth, not nlkit's bridge/) },
      ]);
      expect(lab.foreignWarnings()).toEqual([
        expect.stringMatching(/^reconcile: t12-fb, network fb's bridge name, reaches a link nlkit left untouched: t12-fb \(index \d+\) is a veth/),
      ]);
      expect((await bridgeDrift('fb')).map((d) => d.kind)).toEqual(['bridge-foreign']);
    } finally {
      if (linkNamed('t12-fb')) lab.ipHost('link', 'del', 't12-fb');
    }
    expect(await lab.nets.delete('fb')).toBe(true);
  });

  // A create that died between making its bridge and marking it leaves it unmarked: the MAC the network recorded
  // still proves it nlkit's, and reconcile repairs it as before.
  it('its own bridge, unmarked but with the recorded MAC, is still brought up and given its gateway', async () => {
    const rec = await lab.nets.create({ name: 'fc', subnet: '10.97.3.0/24', bridge: 't12-fc' });
    lab.ipHost('link', 'set', 't12-fc', 'alias', '');
    lab.ipHost('address', 'flush', 'dev', 't12-fc');
    lab.ipHost('link', 'set', 't12-fc', 'down');
    const index = linkNamed('t12-fc')?.ifindex;
    expect(linkNamed('t12-fc')?.ifalias).toBeUndefined();
    expect((await bridgeDrift('fc')).map((d) => d.kind).sort()).toEqual(['bridge-down', 'gateway-missing']);
    await lab.nets.reconcile();
    await nextTick();
    expect(linkNamed('t12-fc')).toMatchObject({ ifindex: index, address: rec.mac });
    expect(linkNamed('t12-fc')?.flags).toContain('UP');
    expect(addressesOf('t12-fc')).toEqual(['10.97.3.1']);
    expect(lab.foreignWarnings()).toEqual([]);
    expect(await lab.nets.check()).toEqual([]);
    expect(await lab.nets.delete('fc')).toBe(true);
    expect(linkNamed('t12-fc')).toBeUndefined();
  });

  // 0.1.0 marked no bridge and recorded no MAC: an unmarked bridge is its only by the gateway address it put on it.
  // Without the gateway, nothing tells it from a bridge someone made with `ip`: left, until the gateway is back.
  it("a 0.1.0 record's unmarked bridge without the gateway is left; given the gateway back by hand, it is repaired", async () => {
    const dir = oldNetworkState({ name: 'od', bridge: 't12-od', net24: '10.97.4', group: 0x4e4c0004 });
    lab.ipHost('link', 'add', 't12-od', 'type', 'bridge'); // as 0.1.0 made it (unmarked, the kernel's MAC), down, without its gateway
    const old = await networks({ host: lab.host(), stateDir: dir });
    try {
      await old.reconcile();
      await nextTick();
      expect(linkNamed('t12-od')?.flags).not.toContain('UP');
      expect(addressesOf('t12-od')).toEqual([]);
      expect(lab.foreignWarnings()).toEqual([
        expect.stringMatching(
          /^reconcile: t12-od, network od's bridge name, reaches a link nlkit left untouched: .* has no bridge MAC to prove it nlkit's, nor does it carry the network's gateway 10\.97\.4\.1\/24$/,
        ),
      ]);
      expect((await old.check()).filter((d) => d.network === 'od').map((d) => [d.kind, d.link])).toEqual([['bridge-foreign', 't12-od']]);

      lab.ipHost('address', 'add', '10.97.4.1/24', 'dev', 't12-od'); // the owner's remedy: the gateway proves it again
      await old.reconcile();
      expect(linkNamed('t12-od')?.flags).toContain('UP');
      expect((await old.check()).filter((d) => d.network === 'od')).toEqual([]);
      expect(await old.delete('od')).toBe(true);
      expect(linkNamed('t12-od')).toBeUndefined();
    } finally {
      old.close();
      if (linkNamed('t12-od')) lab.ipHost('link', 'del', 't12-od');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
