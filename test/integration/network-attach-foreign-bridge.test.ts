// attach() makes a sandbox's veth a port of nlkit's bridge of the network only: once nlkit's bridge was deleted and
// another link took its name (a bridge made with `ip link add <name> type bridge`, another network's bridge renamed
// to it), the attach is refused with a ForeignBridgeError and undone whole: no port on that link, no veth left, no
// interface in the sandbox, nothing recorded, the address lease released. The same holds when attach re-makes an
// attachment whose host veth was lost. nlkit's own bridge with its mark cleared but the MAC the network recorded is
// still attached to; a network recorded by 0.1.0 (no MAC) proves its unmarked bridge by the gateway on it. Links are
// made and read back with `ip -j` in a test namespace.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNetns, ForeignBridgeError } from '../../lib';
import { networks } from '../../lib/network/manager';
import { useForeignLinkHost } from '../helpers/foreign-links';
import { ipJson } from '../helpers/netns';
import { oldNetworkState } from '../helpers/old-network-state';

describe("attach() and a link that took a network's bridge name", () => {
  const lab = useForeignLinkHost('t13', ['ga', 'gb', 'gc', 'gd', 'ge']);
  type IpLink = { ifname: string; ifindex: number; address: string; ifalias?: string; master?: string };
  const hostLinks = () => ipJson(lab.host(), 'link', 'show') as IpLink[];
  const linkNamed = (name: string) => hostLinks().find((l) => l.ifname === name);
  const portsOf = (name: string) => (ipJson(lab.host(), 'link', 'show', 'master', name) as IpLink[]).map((l) => l.ifname);
  const sandboxLinks = (ns: string) => (ipJson(ns, 'link', 'show') as IpLink[]).map((l) => l.ifname);
  /** A sandbox namespace made beforehand (so its interfaces can be read after a refused attach). */
  const madeSandbox = async (label: string) => {
    const ns = lab.sandbox(label);
    await createNetns(ns);
    return ns;
  };
  const driftOf = async (network: string) => (await lab.nets.check()).filter((d) => d.network === network).map((d) => [d.kind, d.link]);

  it('a bridge made with ip under the name: refused, rolled back, reported by check(); once removed, reconcile() and attach work', async () => {
    await lab.nets.create({ name: 'ga', subnet: '10.97.11.0/24', bridge: 't13-ga' });
    const sb = await madeSandbox('gaa');
    lab.ipHost('link', 'del', 't13-ga'); // nlkit's bridge goes ...
    lab.ipHost('link', 'add', 't13-ga', 'type', 'bridge'); // ... and someone makes one under its name
    const theirs = linkNamed('t13-ga');
    const before = hostLinks().map((l) => l.ifname);

    const err = await lab.nets.attach('ga', { sandbox: sb, ip: '10.97.11.40' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignBridgeError);
    expect(err).toMatchObject({ network: 'ga', bridge: 't13-ga' });
    expect((err as Error).message).toMatch(
      /^attach .* to ga: t13-ga, network ga's bridge name, reaches a link that is not nlkit's bridge of it \(t13-ga \(index \d+\) is an unmarked bridge with MAC/,
    );
    expect((err as Error).message).toContain('delete or rename that link, then reconcile()');
    // The kernel: their bridge as it was, no port on it, no veth left, nothing new in the sandbox.
    expect(linkNamed('t13-ga')).toMatchObject({ ifindex: theirs?.ifindex, address: theirs?.address });
    expect(portsOf('t13-ga')).toEqual([]);
    expect(hostLinks().map((l) => l.ifname)).toEqual(before);
    expect(sandboxLinks(sb)).toEqual(['lo']);
    // nlkit: nothing recorded, nothing in flight, the bridge's name reported as someone else's.
    expect((await lab.nets.get('ga')).attachments).toEqual([]);
    expect(await driftOf('ga')).toEqual([['bridge-foreign', 't13-ga']]);

    // The remedy the error names: their link goes, reconcile() makes the bridge, and the address asked for is free.
    lab.ipHost('link', 'del', 't13-ga');
    await lab.nets.reconcile();
    const a = await lab.nets.attach('ga', { sandbox: sb, ip: '10.97.11.40' });
    expect(a.ipv4).toBe('10.97.11.40/24');
    expect(portsOf('t13-ga')).toEqual([a.hostIfname]);
    expect(linkNamed('t13-ga')?.address).toBe((await lab.nets.get('ga')).mac);
  });

  it("another network's bridge under the name (renamed to it): refused, no port on it", async () => {
    await lab.nets.create({ name: 'gb', subnet: '10.97.12.0/24', bridge: 't13-gb' });
    await lab.nets.create({ name: 'gc', subnet: '10.97.13.0/24', bridge: 't13-gc' });
    const sb = await madeSandbox('gba');
    lab.ipHost('link', 'del', 't13-gb');
    lab.ipHost('link', 'set', 't13-gc', 'name', 't13-gb'); // gc's bridge, with gc's mark and MAC, now under gb's name
    const before = hostLinks().map((l) => l.ifname);

    const err = await lab.nets.attach('gb', { sandbox: sb }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignBridgeError);
    expect((err as Error).message).toMatch(/t13-gb \(index \d+\) has alias ".*gc.*", not ".*gb.*"/);
    expect(portsOf('t13-gb')).toEqual([]);
    expect(hostLinks().map((l) => l.ifname)).toEqual(before);
    expect(sandboxLinks(sb)).toEqual(['lo']);
    expect((await lab.nets.get('gb')).attachments).toEqual([]);
    expect(await driftOf('gb')).toEqual([['bridge-foreign', 't13-gb']]);

    lab.ipHost('link', 'set', 't13-gb', 'name', 't13-gc'); // gc's bridge back under its own name
    await lab.nets.reconcile(); // gb's bridge made anew
    const a = await lab.nets.attach('gb', { sandbox: sb });
    expect(portsOf('t13-gb')).toEqual([a.hostIfname]);
    expect(portsOf('t13-gc')).toEqual([]);
  });

  it("nlkit's own bridge with its mark cleared but the recorded MAC: still attached to", async () => {
    await lab.nets.create({ name: 'gd', subnet: '10.97.14.0/24', bridge: 't13-gd' });
    const index = linkNamed('t13-gd')?.ifindex;
    lab.ipHost('link', 'set', 't13-gd', 'alias', '');
    expect(linkNamed('t13-gd')?.ifalias).toBeUndefined();
    const a = await lab.nets.attach('gd', { sandbox: lab.sandbox('gda'), create: true });
    expect(portsOf('t13-gd')).toEqual([a.hostIfname]);
    expect(linkNamed('t13-gd')).toMatchObject({ ifindex: index, address: (await lab.nets.get('gd')).mac });
  });

  it("attach re-making an attachment whose host veth was lost: refused onto another's bridge, the attachment kept", async () => {
    await lab.nets.create({ name: 'ge', subnet: '10.97.15.0/24', bridge: 't13-ge' });
    const sb = await madeSandbox('gea');
    const first = await lab.nets.attach('ge', { sandbox: sb });
    lab.ipHost('link', 'del', first.hostIfname); // the host veth is lost (its sandbox end goes with it) ...
    lab.ipHost('link', 'del', 't13-ge'); // ... and so is the bridge, and someone makes one under its name
    lab.ipHost('link', 'add', 't13-ge', 'type', 'bridge');
    const before = hostLinks().map((l) => l.ifname);

    const err = await lab.nets.attach('ge', { sandbox: sb }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignBridgeError);
    expect(portsOf('t13-ge')).toEqual([]);
    expect(hostLinks().map((l) => l.ifname)).toEqual(before); // the veth it made is gone again
    expect(sandboxLinks(sb)).toEqual(['lo']);
    // The attachment stays recorded, with its address, for when the bridge is nlkit's again.
    expect((await lab.nets.get('ge')).attachments).toEqual([first]);

    lab.ipHost('link', 'del', 't13-ge');
    await lab.nets.reconcile(); // the bridge made anew, the attachment re-made onto it
    expect(portsOf('t13-ge')).toEqual([first.hostIfname]);
    expect(await lab.nets.attach('ge', { sandbox: sb })).toEqual(first);
  });

  // 0.1.0 marked no bridge and recorded no MAC: its unmarked bridge is proven by the gateway on it (one address read).
  it("a 0.1.0 record's unmarked bridge: attached to with the gateway on it, refused without", async () => {
    const dir = oldNetworkState({ name: 'oa', bridge: 't13-oa', net24: '10.97.16', group: 0x4e4c00f0 });
    lab.ipHost('link', 'add', 't13-oa', 'type', 'bridge'); // as someone makes one: unmarked, no gateway
    lab.ipHost('link', 'set', 't13-oa', 'up');
    const old = await networks({ host: lab.host(), stateDir: dir });
    const sb = await madeSandbox('oaa');
    try {
      const err = await old.attach('oa', { sandbox: sb }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForeignBridgeError);
      expect((err as Error).message).toContain("nor does it carry the network's gateway 10.97.16.1/24");
      expect(portsOf('t13-oa')).toEqual([]);
      expect(sandboxLinks(sb)).toEqual(['lo']);
      expect((await old.get('oa')).attachments).toEqual([]);

      lab.ipHost('address', 'add', '10.97.16.1/24', 'dev', 't13-oa'); // as 0.1.0 made it: the gateway on it
      const a = await old.attach('oa', { sandbox: sb });
      expect(portsOf('t13-oa')).toEqual([a.hostIfname]);
      await old.detach('oa', sb);
    } finally {
      await old.delete('oa', { missingOk: true }).catch(() => undefined);
      old.close();
      if (linkNamed('t13-oa')) lab.ipHost('link', 'del', 't13-oa');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
