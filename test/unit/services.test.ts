// services(): the verb table, spec validation and the layout's choices that
// need no kernel (EndpointSlice conditions, weights as draws, names).
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { listMembers } from '../../lib/services/members';
import { serviceLayout } from '../../lib/services/service-layout';
import { PICK_SLOTS, SLOT_TIERS, slotCounts, slotEndpoints, slotTier } from '../../lib/services/slots';
import { ServiceManager } from '../../lib/services/manager';
import { selectedEndpoints, toServiceRecord } from '../../lib/services/spec';

const VERBS = ['get', 'find', 'list', 'add', 'replace', 'set', 'delete', 'flush'];
const EXCEPTIONS: Record<string, string> = {
  apply: 'makes the services exactly a desired list, committing only the difference (for watch loops)',
  check: 'compares the records with the kernel (drift), changes nothing',
  reconcile: 'repairs drift',
  close: "the manager's life cycle",
  commit: 'private',
  commitLocked: 'private',
};

describe('services', () => {
  it('every method of a service manager is a verb or a documented exception', () => {
    const names = Object.getOwnPropertyNames(ServiceManager.prototype).filter((n) => n !== 'constructor');
    expect(names).toEqual(expect.arrayContaining(['get', 'find', 'list', 'add', 'replace', 'set', 'delete']));
    expect(names.filter((n) => !VERBS.includes(n) && !(n in EXCEPTIONS))).toEqual([]);
  });

  it('fills in defaults and canonical addresses', () => {
    const rec = toServiceRecord({ name: 'web', vips: ['fd00:0::10', '10.96.0.10'], ports: [{ port: 80 }], endpoints: [{ ip: '10.0.0.2' }] });
    expect(rec).toEqual({
      name: 'web',
      vips: ['fd00::10', '10.96.0.10'],
      externalIps: [],
      ports: [{ protocol: 'tcp', port: 80, targetPort: 80 }],
      endpoints: [{ ip: '10.0.0.2', weight: 1, ready: true, serving: true, terminating: false }],
    });
  });

  it('refuses an endpoint port on a service with several ports, and ports listed twice', () => {
    const two = [{ port: 80 }, { port: 443 }];
    for (const [spec, field] of [
      [{ name: 'a', vips: ['10.96.0.1'], ports: two, endpoints: [{ ip: '10.0.0.2', port: 8080 }] }, 'endpoint port'],
      [{ name: 'a', vips: ['10.96.0.1'], ports: [{ port: 80 }, { port: 80 }] }, 'ports'],
      [{ name: 'a', vips: [], ports: two }, 'vips'],
      [{ name: 'a', vips: ['10.96.0.1'], ports: two, sessionAffinity: { timeoutSeconds: 0 } }, 'timeoutSeconds'],
    ] as const) {
      const err = (() => {
        try {
          toServiceRecord(spec);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
    }
  });

  it('sends new connections to ready endpoints, to serving terminating ones only when none is ready', () => {
    const rec = (endpoints: object[]) => toServiceRecord({ name: 'a', vips: ['10.96.0.1'], ports: [{ port: 80 }], endpoints });
    const ips = (endpoints: object[]) => selectedEndpoints(rec(endpoints)).map((e) => e.ip);
    expect(ips([{ ip: '10.0.0.1' }, { ip: '10.0.0.2', ready: false, serving: true, terminating: true }])).toEqual(['10.0.0.1']);
    expect(
      ips([
        { ip: '10.0.0.1', weight: 0 },
        { ip: '10.0.0.2', ready: false, serving: true, terminating: true },
      ]),
    ).toEqual(['10.0.0.2']);
    expect(ips([{ ip: '10.0.0.2', ready: false, serving: false, terminating: true }])).toEqual([]);
  });

  it('lays a service out as map elements only: its ports go to shared chains, its endpoints are elements of shared maps', () => {
    const spec = { name: 'a', vips: ['10.96.0.1'], ports: [{ port: 80, nodePort: 30080 }] };
    const empty = serviceLayout(toServiceRecord(spec));
    const two = serviceLayout(toServiceRecord({ ...spec, endpoints: [{ ip: '10.0.0.1', weight: 9 }, { ip: '10.0.0.2' }] }));
    // No chain and no set of its own; without endpoints, the port goes to the chain that refuses at once.
    expect([empty.chains, empty.sets, two.chains, two.sets]).toEqual([[], [], [], []]);
    expect(empty.elements).toEqual([
      { map: 'vips4', key: ['10.96.0.1', 'tcp', 80], chain: 'no-endpoints' },
      { map: 'nodeports4', key: ['tcp', 30080], chain: 'no-endpoints' },
    ]);
    expect(listMembers(empty.members)).toEqual([]);
    expect(two.elements.map((e) => e.chain)).toEqual(['pick4-tcp-64', 'nodeport-pick4-tcp-64']);
    const port = 'a-tcp80-v4';
    // Hairpin keyed by what the packet carries: (client . virtual IP . protocol . port), (client . protocol . NodePort).
    expect(listMembers(two.members).filter((m) => m.set.includes('hairpin'))).toEqual([
      { set: 'hairpin4', port, key: ['10.0.0.1', '10.96.0.1', 'tcp', 80] },
      { set: 'nodeport-hairpin4', port, key: ['10.0.0.1', 'tcp', 30080] },
      { set: 'hairpin4', port, key: ['10.0.0.2', '10.96.0.1', 'tcp', 80] },
      { set: 'nodeport-hairpin4', port, key: ['10.0.0.2', 'tcp', 30080] },
    ]);
    // Every slot of the port in the shared endpoints maps, by virtual IP and by NodePort: 9/10 of them to the first endpoint.
    const slots = listMembers(two.members).filter((m) => m.set === 'endpoints4');
    expect(slots.map((m) => m.key)).toEqual(Array.from({ length: PICK_SLOTS }, (_, i) => ['10.96.0.1', 'tcp', 80, i]));
    expect(slots.filter((m) => m.value?.[0] === '10.0.0.1').length).toBe(58);
    expect(slots[0]).toEqual({ set: 'endpoints4', port, key: ['10.96.0.1', 'tcp', 80, 0], value: ['10.0.0.1', 80] });
    expect(slots[PICK_SLOTS - 1].value).toEqual(['10.0.0.2', 80]);
    const nodePortSlots = listMembers(two.members).filter((m) => m.set === 'nodeport-endpoints4');
    expect(nodePortSlots.map((m) => m.value)).toEqual(slots.map((m) => m.value));
    expect(nodePortSlots[3].key).toEqual(['tcp', 30080, 3]);
  });

  it('keeps a chain and an affinity map of its own for a port with session affinity only', () => {
    const rec = toServiceRecord({
      name: 'a',
      vips: ['10.96.0.1'],
      ports: [{ port: 80 }],
      endpoints: [{ ip: '10.0.0.1' }],
      sessionAffinity: { timeoutSeconds: 60 },
    });
    const l = serviceLayout(rec);
    expect(l.chains.map((c) => c.name)).toEqual(['svc-a-tcp80-v4']);
    expect(l.sets.map((x) => x.name)).toEqual(['aff-a-tcp80-v4']);
    expect(l.elements.map((e) => e.chain)).toEqual(['svc-a-tcp80-v4']);
    expect(serviceLayout({ ...rec, endpoints: [] }).elements.map((e) => e.chain)).toEqual(['svc-a-tcp80-v4']);
  });

  it('shares the slots out by weight, at least one for every endpoint with weight', () => {
    const eps = (ws: number[]) => ws.map((weight) => ({ weight }));
    expect(slotCounts(eps([1, 1]))).toEqual([32, 32]);
    expect(slotCounts(eps([1]))).toEqual([PICK_SLOTS]);
    expect(slotCounts(eps([1, 0, 1]))).toEqual([32, 0, 32]);
    expect(slotCounts(eps([0, 0]))).toEqual([0, 0]);
    expect(slotCounts(eps(Array<number>(10).fill(1))).reduce((a, b) => a + b)).toBe(PICK_SLOTS);
    const skewed = slotCounts(eps([10000, 1, 1, 1, 1, 1, 1, 1]));
    expect(skewed).toEqual([57, 1, 1, 1, 1, 1, 1, 1]);
    expect(slotEndpoints(eps([1, 3]))).toEqual([...Array<number>(16).fill(0), ...Array<number>(48).fill(1)]);
    // More endpoints than slots: a port gets the next tier of slots; beyond the last, the first 1,024 get one each.
    expect([64, 65, 256, 257, 5000].map((n) => slotTier(eps(Array<number>(n).fill(1))))).toEqual([64, 256, 256, 1024, 1024]);
    expect(slotTier(eps([...Array<number>(64).fill(1), 0]))).toBe(64);
    expect(slotCounts(eps(Array<number>(SLOT_TIERS[2] + 2).fill(1))).filter((n) => n === 1).length).toBe(1024);
  });

  it("changes a port's dispatch element only when its endpoints cross a tier of slots (64, 256, 1,024) or none is left", () => {
    const spec = (n: number) => ({
      name: 'a',
      vips: ['10.96.0.1'],
      ports: [{ port: 80 }],
      endpoints: Array.from({ length: n }, (_, i) => ({ ip: `10.0.${i >> 8}.${i & 255}` })),
    });
    const layout = (n: number) => serviceLayout(toServiceRecord(spec(n)));
    const chains = (n: number) => layout(n).elements.map((e) => e.chain);
    expect(chains(2)).toEqual(chains(64));
    expect(chains(64)).toEqual(['pick4-tcp-64']);
    expect(chains(65)).toEqual(['pick4-tcp-256']);
    expect(chains(65)).toEqual(chains(256));
    expect(chains(257)).toEqual(['pick4-tcp-1024']);
    expect(chains(0)).toEqual(['no-endpoints']);
    const big = listMembers(layout(100).members).filter((m) => m.set === 'endpoints4');
    expect(big.length).toBe(256);
    expect(new Set(big.map((m) => m.value?.[0])).size).toBe(100);
  });
});
