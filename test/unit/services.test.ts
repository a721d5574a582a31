// services(): the verb table, spec validation and the layout's choices that
// need no kernel (EndpointSlice conditions, weights as draws, names).
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { pickRanges, serviceLayout } from '../../lib/services/service-layout';
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

  it('lays a service out as one chain per port whose rules do not depend on its endpoints: they are set elements', () => {
    const spec = { name: 'a', vips: ['10.96.0.1'], ports: [{ port: 80, nodePort: 30080 }] };
    const empty = serviceLayout(toServiceRecord(spec));
    const two = serviceLayout(toServiceRecord({ ...spec, endpoints: [{ ip: '10.0.0.1', weight: 9 }, { ip: '10.0.0.2' }] }));
    expect(empty.chains.map((c) => c.name)).toEqual(['svc-a-tcp80-v4']);
    expect(empty.elements.map((e) => e.map)).toEqual(['vips4', 'nodeports4']);
    expect(empty.members).toEqual([]);
    expect(two.chains.map((c) => c.rules.map((r) => JSON.stringify(r.toExpressions('inet'))))).toEqual(
      empty.chains.map((c) => c.rules.map((r) => JSON.stringify(r.toExpressions('inet')))),
    );
    expect(two.members).toEqual([
      { set: 'addrs-a-tcp80-v4', key: '10.0.0.1' },
      { set: 'addrs-a-tcp80-v4', key: '10.0.0.2' },
      { set: 'eps-a-tcp80-v4', key: '0-58981', value: ['10.0.0.1', 80] },
      { set: 'eps-a-tcp80-v4', key: '58982-65535', value: ['10.0.0.2', 80] },
    ]);
  });

  it('spreads the pick space by weight, leaving out a weight too small for one number', () => {
    const eps = (ws: number[]) => ws.map((weight) => ({ ip: '10.0.0.1', weight, ready: true, serving: true, terminating: false }));
    expect(pickRanges(eps([1, 1]))).toEqual(['0-32767', '32768-65535']);
    expect(pickRanges(eps([1]))).toEqual(['0-65535']);
    expect(pickRanges(eps([10000, 1, 1, 1, 1, 1, 1, 1])).filter(Boolean).length).toBe(8);
  });
});
