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
  });

  it('accounts for the encapsulation in the MTU', () => {
    expect(overlayMtu(1500, 4)).toBe(1450);
    expect(overlayMtu(1500, 6)).toBe(1430);
    expect(overlayMtu(9000, 4, 'host-gw')).toBe(9000);
    expect(fieldOf(() => overlayMtu(10, 4))).toBe('underlayMtu');
  });
});
