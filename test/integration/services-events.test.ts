// The services manager's events, against the kernel: every change emits
// what was committed (read back with `nft -j`: the endpoints in the
// endpoints map, the dispatch element going to no-endpoints exactly while a
// `no-endpoints` is open), in order; a commit the kernel refuses emits
// nothing; check() and reconcile() emit the drift they found and repaired;
// a consumer that throws, falls behind or stops affects neither the manager
// nor the other streams.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, NetlinkError, ValidationError } from '../../lib';
import type { ServiceEventStream, ServiceStreamEvent } from '../../lib/services/events';
import { services, type ServiceManager } from '../../lib/services/manager';
import type { ServiceSpec } from '../../lib/services/spec';
import { useNetns } from '../helpers/netns';
import { nft } from '../helpers/nft';

type Elem = [{ concat: Array<string | number> }, { concat?: Array<string | number>; goto?: { target: string } }];

/** A map of the services table as `nft -j` lists it. */
function mapElements(ns: string, map: string): Elem[] {
  const out = JSON.parse(nft(ns, '-j', 'list', 'map', 'inet', 'nlkit-svc', map)) as { nftables: Array<{ map?: { elem?: Elem[] } }> };
  return out.nftables.find((o) => o.map)?.map?.elem ?? [];
}

/** Per VIP: the endpoint addresses its slots lead to, and the chain its dispatch element goes to. */
function kernel(ns: string): Record<string, { endpoints: string[]; chain: string }> {
  const out: Record<string, { endpoints: string[]; chain: string }> = {};
  for (const [k, v] of mapElements(ns, 'vips4')) out[String(k.concat[0])] = { endpoints: [], chain: v.goto?.target ?? '?' };
  for (const [k, v] of mapElements(ns, 'endpoints4')) {
    const e = out[String(k.concat[0])].endpoints;
    const ip = String(v.concat?.[0]);
    if (!e.includes(ip)) e.push(ip);
  }
  for (const v of Object.values(out)) v.endpoints.sort();
  return out;
}

/** The next `n` events of a stream. */
async function take(stream: ServiceEventStream, n: number): Promise<ServiceStreamEvent[]> {
  const out: ServiceStreamEvent[] = [];
  for (let i = 0; i < n; i++) {
    const r = await stream.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/** An event without the records, for comparing: type, action, name and the delta's addresses. */
function brief(e: ServiceStreamEvent): string {
  if (e.type === 'service') {
    const d = e.delta;
    const ips = (l: Array<{ ip: string }>) => l.map((x) => x.ip).join(',');
    const parts = [
      `+${ips(d.endpointsAdded)}`,
      `-${ips(d.endpointsRemoved)}`,
      `w${ips(d.weights.map((w) => w.after))}`,
      `c${ips(d.conditions.map((c) => c.after))}`,
    ];
    return `service ${e.action} ${e.name}${e.previous ? ' (changed)' : ''} ${parts.join(' ')}${d.fields.length ? ` fields:${d.fields.join(',')}` : ''}`;
  }
  if (e.type === 'no-endpoints') return `no-endpoints ${e.action} ${e.name}`;
  if (e.type === 'drift') return `drift ${e.action} ${e.drift.map((d) => `${d.service}:${d.kind}`).join(',')}`;
  return e.type;
}

const web = (endpoints: ServiceSpec['endpoints']): ServiceSpec => ({ name: 'web', vips: ['10.96.7.10'], ports: [{ port: 80, targetPort: 8080 }], endpoints });

describe('services: events', () => {
  const box = useNetns('host');
  const host = () => box.ns('host');
  let svcs: ServiceManager;
  let stream: ServiceEventStream;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-svc-events-'));
    svcs = await services({ host: host(), stateDir });
    stream = await svcs.events.subscribe({ includeExisting: true });
  });
  afterAll(async () => {
    await svcs?.apply([]).catch(() => undefined);
    svcs?.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('validates the options', async () => {
    await expect(svcs.events.subscribe({ includeExisting: 'yes' } as never)).rejects.toMatchObject({ field: 'includeExisting' });
    await expect(svcs.events.subscribe({ maxQueued: 0 })).rejects.toMatchObject({ field: 'maxQueued' });
    await expect(svcs.events.subscribe({ receiveBufferBytes: 1 } as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('starts with the recorded services (none) and synced', async () => {
    expect((await take(stream, 1)).map(brief)).toEqual(['synced']);
  });

  it('emits each change as committed, with what changed, and no-endpoints when a service starts and stops refusing', async () => {
    await svcs.add(web([{ ip: '10.1.7.2' }, { ip: '10.1.7.3' }]));
    const [created] = await take(stream, 1);
    expect(brief(created)).toBe('service new web +10.1.7.2,10.1.7.3 - w c');
    expect(created).toMatchObject({ service: await svcs.get('web') });
    expect(kernel(host())).toEqual({ '10.96.7.10': { endpoints: ['10.1.7.2', '10.1.7.3'], chain: 'pick4-tcp-64' } });

    // a weight and a condition: 10.1.7.3 not ready gets no slot
    await svcs.set('web', {
      endpoints: [
        { ip: '10.1.7.2', weight: 3 },
        { ip: '10.1.7.3', ready: false },
      ],
    });
    const [changed] = await take(stream, 1);
    expect(brief(changed)).toBe('service new web (changed) + - w10.1.7.2 c10.1.7.3');
    expect(changed.type === 'service' && changed.delta.conditions[0]).toMatchObject({ before: { ready: true }, after: { ready: false, serving: false } });
    expect(kernel(host())['10.96.7.10'].endpoints).toEqual(['10.1.7.2']);

    // none left: the service refuses at once (its dispatch element goes to no-endpoints)
    await svcs.set('web', { endpoints: [] });
    expect((await take(stream, 2)).map(brief)).toEqual(['service new web (changed) + -10.1.7.2,10.1.7.3 w c', 'no-endpoints new web']);
    expect(kernel(host())).toEqual({ '10.96.7.10': { endpoints: [], chain: 'no-endpoints' } });

    await svcs.set('web', { endpoints: [{ ip: '10.1.7.4' }], ports: [{ port: 81, targetPort: 8080 }] });
    expect((await take(stream, 2)).map(brief)).toEqual(['service new web (changed) +10.1.7.4 - w c fields:ports', 'no-endpoints del web']);
    expect(kernel(host())).toEqual({ '10.96.7.10': { endpoints: ['10.1.7.4'], chain: 'pick4-tcp-64' } });

    // a change that changes nothing commits nothing and emits nothing: the next event is the next change's
    await svcs.set('web', { endpoints: [{ ip: '10.1.7.4' }] });
    await svcs.add({ name: 'db', vips: ['10.96.7.11'], ports: [{ port: 5432 }] });
    expect((await take(stream, 2)).map(brief)).toEqual(['service new db + - w c', 'no-endpoints new db']);
    expect(kernel(host())['10.96.7.11']).toEqual({ endpoints: [], chain: 'no-endpoints' });
  });

  it("emits apply()'s changes in commit order, deletions with their no-endpoints ending", async () => {
    const r = await svcs.apply([
      web([{ ip: '10.1.7.4' }, { ip: '10.1.7.5' }]),
      { name: 'api', vips: ['10.96.7.12'], ports: [{ port: 80 }], endpoints: [{ ip: '10.1.7.6' }] },
    ]);
    expect(r).toMatchObject({ added: ['api'], changed: ['web'], removed: ['db'] });
    expect((await take(stream, 4)).map(brief)).toEqual([
      'service new web (changed) +10.1.7.5 - w c fields:ports',
      'service new api +10.1.7.6 - w c',
      'service del db + - w c',
      'no-endpoints del db',
    ]);
    expect(kernel(host())).toEqual({
      '10.96.7.10': { endpoints: ['10.1.7.4', '10.1.7.5'], chain: 'pick4-tcp-64' },
      '10.96.7.12': { endpoints: ['10.1.7.6'], chain: 'pick4-tcp-64' },
    });
  });

  it('emits nothing for a commit the kernel refuses; check() and reconcile() emit the drift found and repaired', async () => {
    nft(host(), 'delete', 'table', 'inet', 'nlkit-svc');
    await expect(svcs.set('web', { endpoints: [{ ip: '10.1.7.9' }] })).rejects.toBeInstanceOf(NetlinkError);
    // the next event is check()'s: the refused set() emitted none
    const found = await svcs.check();
    expect(found.map((d) => d.kind)).toEqual(['table-missing']);
    expect((await take(stream, 1)).map(brief)).toEqual(['drift new :table-missing']);
    expect(await svcs.reconcile()).toEqual(found);
    expect((await take(stream, 2)).map(brief)).toEqual(['drift new :table-missing', 'drift del :table-missing']);
    expect(kernel(host())['10.96.7.10'].endpoints).toEqual(['10.1.7.4', '10.1.7.5']); // the record, not the refused change

    // someone removes one service's element: found, then repaired
    nft(host(), 'delete', 'element', 'inet', 'nlkit-svc', 'vips4', '{ 10.96.7.12 . tcp . 80 }');
    await svcs.reconcile();
    expect((await take(stream, 2)).map(brief)).toEqual(['drift new api:element-missing', 'drift del api:element-missing']);
    expect(kernel(host())['10.96.7.12']).toEqual({ endpoints: ['10.1.7.6'], chain: 'pick4-tcp-64' });
    expect(await svcs.check()).toEqual([]); // nothing found: no event
  });

  it('a consumer that throws ends its own loop only; the manager and other streams go on', async () => {
    const other = await svcs.events.subscribe();
    const thrower = await svcs.events.subscribe();
    const loop = (async () => {
      for await (const e of thrower) throw new Error(`consumer failed on ${e.type}`);
    })().catch((e: unknown) => e);
    await svcs.set('api', { endpoints: [{ ip: '10.1.7.7' }] }); // resolves: the consumer's exception is not the manager's
    expect(await loop).toMatchObject({ message: 'consumer failed on service' });
    await svcs.set('api', { endpoints: [{ ip: '10.1.7.8' }] });
    expect((await thrower.next()).done).toBe(true); // closed by its loop
    expect((await take(other, 2)).map(brief)).toEqual([
      'service new api (changed) +10.1.7.7 -10.1.7.6 w c',
      'service new api (changed) +10.1.7.8 -10.1.7.7 w c',
    ]);
    expect((await take(stream, 2)).map(brief)).toEqual([
      'service new api (changed) +10.1.7.7 -10.1.7.6 w c',
      'service new api (changed) +10.1.7.8 -10.1.7.7 w c',
    ]);
    expect(kernel(host())['10.96.7.12'].endpoints).toEqual(['10.1.7.8']);
    other.close();
  });

  it("events cannot be changed by a consumer: they are frozen copies, the manager's records stay as committed", async () => {
    const [e] = await Promise.all([take(stream, 1), svcs.set('api', { endpoints: [{ ip: '10.1.7.6' }] })]).then(([l]) => l);
    expect(e.type === 'service' && Object.isFrozen(e.service.endpoints[0])).toBe(true);
    expect(() => {
      if (e.type === 'service') (e.service.endpoints as unknown[]).push({ ip: '10.9.9.9' });
    }).toThrow(TypeError);
    expect((await svcs.get('api')).endpoints.map((x) => x.ip)).toEqual(['10.1.7.6']);
  });

  it('a consumer that falls behind gets overrun where events were dropped, then (resyncOnOverrun) the recorded services', async () => {
    const slow = await svcs.events.subscribe({ maxQueued: 2, resyncOnOverrun: true });
    for (const ip of ['10.1.7.20', '10.1.7.21', '10.1.7.22']) await svcs.set('api', { endpoints: [{ ip }] });
    expect((await take(slow, 6)).map(brief)).toEqual([
      'service new api (changed) +10.1.7.20 -10.1.7.6 w c',
      'service new api (changed) +10.1.7.21 -10.1.7.20 w c',
      'overrun',
      'service new api +10.1.7.22 - w c', // the records as they are now
      'service new web +10.1.7.4,10.1.7.5 - w c',
      'synced',
    ]);
    await svcs.delete('api');
    expect((await take(slow, 1)).map(brief)).toEqual(['service del api + -10.1.7.22 w c']);
    slow.close();
    await take(stream, 4); // the main stream saw all four changes
  });

  it("a manager's events are its own, and close() ends its streams", async () => {
    const second = await services({ host: host(), stateDir });
    const theirs = await second.events.subscribe();
    const pending = theirs.next();
    await svcs.set('web', { endpoints: [{ ip: '10.1.7.4' }] }); // this manager's change: not the second's event
    expect((await take(stream, 1)).map(brief)).toEqual(['service new web (changed) + -10.1.7.5 w c']);
    second.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    await expect(second.events.subscribe()).rejects.toBeInstanceOf(ClosedError);
  });
});
