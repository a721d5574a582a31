// The services events' own logic, without a kernel (the integration test
// checks them against committed state): the delta of a change, refusal
// transitions, overrun with and without resync, and the end of streams.
import { describe, expect, it } from 'vitest';
import { ClosedError } from '../../lib';
import { ServiceEvents, type ServiceStreamEvent } from '../../lib/services/events';
import { toServiceRecord, type ServiceRecord, type ServiceSpec } from '../../lib/services/spec';

const rec = (over: Partial<ServiceSpec> = {}): ServiceRecord =>
  toServiceRecord({ name: 'web', vips: ['10.96.0.1'], ports: [{ port: 80 }], endpoints: [{ ip: '10.0.0.2' }], ...over });

/** A ServiceEvents whose "recorded services" are `records` (the lock is not needed here). */
function events(records: Map<string, ServiceRecord> = new Map()): ServiceEvents {
  return new ServiceEvents((read) => Promise.resolve(read(records)));
}

async function take(s: AsyncIterator<ServiceStreamEvent>, n: number): Promise<ServiceStreamEvent[]> {
  const out: ServiceStreamEvent[] = [];
  for (let i = 0; i < n; i++) out.push((await s.next()).value as ServiceStreamEvent);
  return out;
}

describe('services events', () => {
  it('describes a change: endpoints by address and port, weights, conditions and the other fields', async () => {
    const ev = events();
    const s = await ev.subscribe();
    const before = rec({ ports: [{ port: 80 }], endpoints: [{ ip: '10.0.0.2', port: 8080 }, { ip: '10.0.0.3', weight: 2 }, { ip: '10.0.0.4' }] });
    const after = rec({
      vips: ['10.96.0.1', 'fd00::1'],
      sessionAffinity: { timeoutSeconds: 60 },
      endpoints: [{ ip: '10.0.0.2', port: 8081 }, { ip: '10.0.0.3', weight: 5, ready: false, terminating: true }, { ip: '10.0.0.4' }],
    });
    ev.committed([{ before, after }]);
    const [e] = await take(s, 1);
    expect(e).toMatchObject({
      type: 'service',
      action: 'new',
      name: 'web',
      previous: before,
      service: after,
      delta: {
        endpointsAdded: [{ ip: '10.0.0.2', port: 8081 }],
        endpointsRemoved: [{ ip: '10.0.0.2', port: 8080 }],
        weights: [{ before: { ip: '10.0.0.3', weight: 2 }, after: { ip: '10.0.0.3', weight: 5 } }],
        conditions: [{ before: { ready: true }, after: { ready: false, serving: false, terminating: true } }],
        fields: ['vips', 'sessionAffinity'],
      },
    });
  });

  it('opens no-endpoints when nothing gets new connections (weight 0, not ready, terminating but not serving) and closes it when one does, or on deletion', async () => {
    const ev = events();
    const s = await ev.subscribe();
    const none = rec({
      endpoints: [
        { ip: '10.0.0.2', weight: 0 },
        { ip: '10.0.0.3', ready: false, terminating: true },
      ],
    });
    const servingTerminating = rec({ endpoints: [{ ip: '10.0.0.3', ready: false, serving: true, terminating: true }] });
    ev.committed([{ after: none }]);
    ev.committed([{ before: none, after: servingTerminating }]);
    ev.committed([{ before: servingTerminating, after: none }]);
    ev.committed([{ before: none }]);
    const kinds = (await take(s, 7)).map((e) => `${e.type}${'action' in e ? ` ${e.action}` : ''}`);
    expect(kinds).toEqual(['service new', 'no-endpoints new', 'service new', 'no-endpoints del', 'service new', 'no-endpoints new', 'service del']);
    expect(await take(s, 1)).toEqual([{ type: 'no-endpoints', action: 'del', name: 'web' }]);
  });

  it('a consumer behind by maxQueued gets overrun where events were dropped, and the events after it once it has read it', async () => {
    const ev = events();
    const s = await ev.subscribe({ maxQueued: 2 });
    for (const ip of ['10.0.0.5', '10.0.0.6', '10.0.0.7', '10.0.0.8']) ev.committed([{ before: rec(), after: rec({ endpoints: [{ ip }] }) }]);
    const first = await take(s, 3);
    expect(first.map((e) => (e.type === 'service' ? e.service.endpoints[0].ip : e.type))).toEqual(['10.0.0.5', '10.0.0.6', 'overrun']);
    ev.committed([{ before: rec(), after: rec({ endpoints: [{ ip: '10.0.0.9' }] }) }]);
    const [next] = await take(s, 1);
    expect(next.type === 'service' && next.service.endpoints[0].ip).toBe('10.0.0.9');
  });

  it('with resyncOnOverrun, the overrun is followed by the recorded services, then synced, then what comes after', async () => {
    const records = new Map([['web', rec()]]);
    const ev = events(records);
    const s = await ev.subscribe({ maxQueued: 1, resyncOnOverrun: true });
    ev.committed([{ after: rec({ name: 'a' }) }, { after: rec({ name: 'b' }) }]);
    records.set('db', rec({ name: 'db', endpoints: [] }));
    expect((await take(s, 2)).map((e) => e.type)).toEqual(['service', 'overrun']);
    const resync = await take(s, 4);
    expect(resync.map((e) => `${e.type} ${'name' in e ? e.name : ''}`.trim())).toEqual(['service db', 'no-endpoints db', 'service web', 'synced']);
  });

  it('close() ends every stream, a pending next() too, and a later subscribe() is refused', async () => {
    const ev = events();
    const s = await ev.subscribe();
    const pending = s.next();
    ev.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    await expect(ev.subscribe()).rejects.toBeInstanceOf(ClosedError);
    ev.committed([{ after: rec() }]); // nothing to deliver to: no error
  });

  it('refuses unknown options and wrong types', async () => {
    const ev = events();
    await expect(ev.subscribe({ receiveBufferBytes: 1 } as never)).rejects.toMatchObject({ field: 'services events options' });
    await expect(ev.subscribe({ resyncOnOverrun: 1 } as never)).rejects.toMatchObject({ field: 'resyncOnOverrun' });
    await expect(ev.subscribe({ maxQueued: 1.5 })).rejects.toMatchObject({ field: 'maxQueued' });
  });
});
