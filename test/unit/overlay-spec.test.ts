// Overlay specs and peers are checked before anything is sent: ValidationError naming the field.
import { describe, expect, it } from 'vitest';
import { ValidationError, overlayMtu } from '../../lib';
import { parseOverlaySpec, parsePeer, parsePeers, vtepMac } from '../../lib/overlay/spec';

const base = { clusterCidr: '10.244.0.0/16', subnet: '10.244.3.0/24', underlay: { link: 'eth1', address: '192.168.1.3' } };

function fieldOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  return undefined;
}

describe('overlay spec', () => {
  it('fills in flannel defaults: VNI 1, port 8472, the subnet first address as VTEP with a MAC derived from it', () => {
    const s = parseOverlaySpec(base);
    expect(s).toMatchObject({ mode: 'vxlan', vni: 1, port: 8472, device: 'nlk-vx1', vtep: '10.244.3.0', subnet: '10.244.3.0/24', underlayFamily: 4 });
    expect(vtepMac('10.244.3.0')).toBe('0a:58:0a:f4:03:00');
  });

  it('refuses bad fields by name', () => {
    expect(fieldOf(() => parseOverlaySpec({ ...base, subnet: '10.245.0.0/24' }))).toBe('subnet');
    expect(fieldOf(() => parseOverlaySpec({ ...base, clusterCidr: 'fd00::/64' }))).toBe('clusterCidr');
    expect(fieldOf(() => parseOverlaySpec({ ...base, underlay: { link: 'eth1', address: 'nope' } }))).toBe('underlay.address');
    expect(fieldOf(() => parseOverlaySpec({ ...base, mode: 'host-gw', underlay: { link: 'eth1', address: 'fd00::3' } }))).toBe('underlay.address');
    expect(fieldOf(() => parseOverlaySpec({ ...base, vni: 1 << 24 }))).toBe('vni');
    expect(fieldOf(() => parseOverlaySpec({ ...base, extra: 1 } as never))).toBe('overlay spec');
    expect(fieldOf(() => parseOverlaySpec({ ...base, device: 'a-name-far-too-long' }))).toBe('device');
  });

  it('checks peers against the spec: inside the cluster, not our subnet, the underlay family, a MAC in vxlan mode, nothing twice', () => {
    const s = parseOverlaySpec(base);
    const peer = { name: 'b', subnet: '10.244.4.0/24', underlay: '192.168.1.4', mac: '0A:58:0A:F4:04:00' };
    expect(parsePeer(s, peer)).toEqual({ name: 'b', subnet: '10.244.4.0/24', vtep: '10.244.4.0', underlay: '192.168.1.4', mac: '0a:58:0a:f4:04:00' });
    expect(fieldOf(() => parsePeer(s, { ...peer, subnet: '10.244.3.0/24' }))).toBe('peer.subnet');
    expect(fieldOf(() => parsePeer(s, { ...peer, underlay: 'fd00::4' }))).toBe('peer.underlay');
    expect(fieldOf(() => parsePeer(s, { ...peer, mac: undefined }))).toBe('peer.mac');
    expect(fieldOf(() => parsePeers(s, [peer, { ...peer, subnet: '10.244.5.0/24' }]))).toBe('peer.name');
    expect(fieldOf(() => parsePeers(s, [peer, { ...peer, name: 'c' }]))).toBe('peer.subnet');
    // One MAC is one FDB entry: the second peer would take the first's traffic.
    expect(fieldOf(() => parsePeers(s, [peer, { ...peer, name: 'c', subnet: '10.244.5.0/24', underlay: '192.168.1.5' }]))).toBe('peer.mac');
    for (const underlay of ['0.0.0.0', '127.0.0.1', '224.0.0.1', '255.255.255.255'])
      expect(fieldOf(() => parsePeer(s, { ...peer, underlay }))).toBe('peer.underlay');
    expect(
      parsePeers(parseOverlaySpec({ ...base, mode: 'host-gw' }), [
        { name: 'b', subnet: '10.244.4.0/24', underlay: '192.168.1.4' },
        { name: 'c', subnet: '10.244.5.0/24', underlay: '192.168.1.5' },
      ]).size,
    ).toBe(2);
  });

  it("refuses a peer whose subnet overlaps this host's or another peer's, claims the whole cluster, or reuses our underlay address or VTEP MAC", () => {
    const s = parseOverlaySpec(base);
    const peer = { name: 'b', subnet: '10.244.4.0/24', underlay: '192.168.1.4', mac: '0a:58:0a:f4:04:00' };
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        if (e instanceof ValidationError) return `${e.field}: ${e.message}`;
        throw e;
      }
      return 'accepted';
    };
    // Inside ours (its VTEP 10.244.3.128 in our subnet), around ours, the whole cluster.
    expect(refusal(() => parsePeer(s, { ...peer, subnet: '10.244.3.128/25' }))).toMatch(
      /^peer\.subnet: .*overlaps this host's subnet 10\.244\.3\.0\/24 \(peer b\)/,
    );
    expect(refusal(() => parsePeer(s, { ...peer, subnet: '10.244.0.0/22' }))).toMatch(/^peer\.subnet: .*overlaps this host's subnet/);
    expect(refusal(() => parsePeer(s, { ...peer, subnet: '10.244.0.0/16' }))).toMatch(/^peer\.subnet: .*whole cluster CIDR \(peer b\)/);
    expect(refusal(() => parsePeer(s, { ...peer, underlay: '192.168.1.3' }))).toMatch(/^peer\.underlay: .*own underlay address \(peer b\)/);
    expect(refusal(() => parsePeer(s, { ...peer, mac: vtepMac('10.244.3.0') }))).toMatch(/^peer\.mac: .*own VTEP MAC \(peer b\)/);
    // Between peers: one inside another, in either order, among many that do not overlap.
    const many = Array.from({ length: 200 }, (_, i) => ({ ...peer, name: `n${i}`, subnet: `10.244.${10 + i}.0/24`, mac: vtepMac(`10.244.${10 + i}.0`) }));
    expect(parsePeers(s, many).size).toBe(200);
    const inner = { ...peer, name: 'inner', subnet: '10.244.50.64/26' };
    expect(refusal(() => parsePeers(s, [...many, inner]))).toMatch(
      /^peer\.subnet: .*10\.244\.50\.64\/26.*overlaps 10\.244\.50\.0\/24 of peer n40 \(peer inner\)/,
    );
    expect(refusal(() => parsePeers(s, [inner, ...many]))).toMatch(/^peer\.subnet: .*overlaps/);
    expect(refusal(() => parsePeers(s, [...many, { ...peer, name: 'wide', subnet: '10.244.128.0/17' }]))).toMatch(/^peer\.subnet: .*overlaps/);
    expect(refusal(() => parsePeers(s, [peer, { ...peer, name: 'c', subnet: '10.244.5.0/24', mac: vtepMac('10.244.5.0') }]))).toBe('accepted');
    expect(refusal(() => parsePeers(s, [peer, { ...peer, name: 'c', subnet: '10.244.5.0/24' }]))).toMatch(/^peer\.mac: .*VTEP MAC of peer b too \(peer c\)/);
  });

  it('accounts for the encapsulation in the MTU', () => {
    expect(overlayMtu(1500, 4)).toBe(1450);
    expect(overlayMtu(1500, 6)).toBe(1430);
    expect(overlayMtu(9000, 4, 'host-gw')).toBe(9000);
    expect(fieldOf(() => overlayMtu(10, 4))).toBe('underlayMtu');
  });
});
