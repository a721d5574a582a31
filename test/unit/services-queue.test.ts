// A services change queues the same batch, byte for byte, as the
// member-by-member layout and diff it replaced (main at 14a2ab1: its output
// is recorded in test/fixtures/golden/services-queue.json): endpoints and weights changed,
// endpoints added and removed, services created and deleted, several
// addresses, families, ports and NodePorts, slot tiers crossed, no endpoint
// left, terminating endpoints, session affinity, and several services in one
// transaction as apply() queues them.
import { describe, expect, it } from 'vitest';
import { Transaction } from '../../lib/nftables/transaction';
import { BASE_MAPS } from '../../lib/services/layout';
import { listMembers } from '../../lib/services/members';
import { serviceLayout } from '../../lib/services/service-layout';
import { toServiceRecord, type EndpointSpec, type ServiceSpec } from '../../lib/services/spec';
import { objectsOf, queueChanges } from '../../lib/services/table';
import { golden } from '../helpers/golden';

const GOLDEN = golden('services-queue');

/** A transaction that knows the shared maps' types (so element commands are encoded without a kernel). */
function withMaps(): Transaction {
  const tx = new Transaction();
  for (const s of BASE_MAPS) tx.addSet(s);
  return tx;
}

type Pair = [ServiceSpec | undefined, ServiceSpec | undefined];

function batches(pairs: Pair[]): { now: string; commands: string[] } {
  const rec = (s: ServiceSpec | undefined) => (s ? toServiceRecord(s) : undefined);
  const now = withMaps();
  queueChanges(
    now,
    pairs.map(([b, a]) => ({ before: objectsOf(rec(b)), after: objectsOf(rec(a)) })),
  );
  return { now: now.encode().toString('hex'), commands: now.describe() };
}

const eps = (n: number, from = 0, more: Partial<EndpointSpec> = {}): EndpointSpec[] =>
  Array.from({ length: n }, (_, i) => ({ ip: `10.${200 + ((i + from) % 20)}.${(i + from) >> 8}.${(i + from) & 255}`, ...more }));
const web = (endpoints: EndpointSpec[], more: Partial<ServiceSpec> = {}): ServiceSpec => ({
  name: 'web',
  vips: ['10.96.0.10'],
  ports: [{ port: 80, targetPort: 8080 }],
  endpoints,
  ...more,
});

function expectSame(pairs: Pair[]): string[] {
  const { now, commands } = batches(pairs);
  GOLDEN.check(now);
  return commands;
}

describe('services change batches', () => {
  it("one service's endpoints replaced, weights changed, endpoints added and removed", () => {
    const commands = expectSame([[web(eps(10)), web(eps(10, 10))]]);
    // The delete and add of the slots and of the hairpin addresses (the same messages as before).
    expect(commands.filter((c) => /^(add|delete) elements .* (endpoints4|hairpin4)$/.test(c))).toHaveLength(4);
    expectSame([[web(eps(10)), web(eps(10).map((e, i) => ({ ...e, weight: i + 1 })))]]);
    expectSame([[web(eps(10)), web(eps(11))]]);
    expectSame([[web(eps(10)), web(eps(9, 1))]]);
    expectSame([[web(eps(3)), web(eps(3, 2))]]);
    expectSame([[web(eps(2)), web(eps(2))]]);
  });

  it('services created and deleted, and to and from no endpoint', () => {
    expectSame([[undefined, web(eps(10))]]);
    expectSame([[web(eps(10)), undefined]]);
    expectSame([[web(eps(10)), web([])]]);
    expectSame([[web([]), web(eps(1))]]);
    expectSame([[web(eps(2)), web(eps(2, 0, { ready: false, serving: true, terminating: true }))]]);
  });

  it('several addresses, both families, several ports and NodePorts', () => {
    const big = (endpoints: EndpointSpec[], nodePort = 30080) =>
      web(endpoints, {
        vips: ['10.96.0.10', 'fd00:96::10'],
        externalIps: ['192.0.2.10', '2001:db8::10'],
        ports: [
          { port: 80, targetPort: 8080, nodePort },
          { protocol: 'udp', port: 53 },
          { protocol: 'sctp', port: 9000, nodePort: 30900 },
        ],
      });
    const dual = (n: number, from = 0) => [...eps(n, from), ...eps(n, from).map((e, i) => ({ ip: `fd00:200::${(i + from).toString(16)}`, weight: e.weight }))];
    expectSame([[big(dual(4)), big(dual(4, 2))]]);
    expectSame([[big(dual(4)), big(dual(4), 30081)]]);
    expectSame([[undefined, big(dual(3))]]);
    expectSame([[big(dual(3)), undefined]]);
    expectSame([[big(eps(3)), big(dual(3))]]);
  });

  it('slot tiers crossed (64, 256, 1,024 slots)', () => {
    expectSame([[web(eps(64)), web(eps(65))]]);
    expectSame([[web(eps(300)), web(eps(200))]]);
    expectSame([[web(eps(10)), web(eps(300))]]);
  });

  it('a port with session affinity', () => {
    const aff = (endpoints: EndpointSpec[], timeoutSeconds = 60) => web(endpoints, { sessionAffinity: { timeoutSeconds } });
    expectSame([[aff(eps(3)), aff(eps(3, 1))]]);
    expectSame([[aff(eps(3)), aff(eps(3), 120)]]);
    expectSame([[web(eps(3)), aff(eps(3))]]);
    expectSame([[aff(eps(3)), web(eps(3))]]);
  });

  it('several services in one transaction, as apply() queues them', () => {
    const svc = (i: number, endpoints: EndpointSpec[]) => web(endpoints, { name: `s${i}`, vips: [`10.96.1.${i}`] });
    expectSame([
      [svc(1, eps(10)), svc(1, eps(10, 5))],
      [undefined, svc(2, eps(4))],
      [svc(3, eps(2)), undefined],
      [svc(4, eps(70)), svc(4, eps(5))],
    ]);
  });

  it('lists the members one by one as the layout they replaced did', () => {
    for (const spec of [web(eps(10)), web(eps(3), { vips: ['10.96.0.10', '10.96.0.11'], ports: [{ port: 80, nodePort: 30080 }] }), web([])]) {
      const r = toServiceRecord(spec);
      GOLDEN.check(listMembers(serviceLayout(r).members));
    }
  });

  it('with declareMaps, adds each shared map it writes to before its elements: encoded without the kernel, the same element messages', () => {
    const pair = { before: objectsOf(toServiceRecord(web(eps(10)))), after: objectsOf(toServiceRecord(web(eps(10, 10)))) };
    const declared = new Transaction();
    queueChanges(declared, [pair], true);
    const commands = declared.describe();
    const adds = commands.filter((c) => /^add (map|set) /.test(c));
    expect(adds).toEqual(['add map inet nlkit-svc endpoints4', 'add set inet nlkit-svc hairpin4']);
    for (const a of adds) {
      const name = a.split(' ').at(-1) as string;
      expect(commands.indexOf(a)).toBeLessThan(commands.findIndex((c) => / elements /.test(c) && c.endsWith(` ${name}`)));
    }
    // Without the declarations the batch cannot be encoded before the kernel was asked for the maps' types.
    const undeclared = new Transaction();
    queueChanges(undeclared, [pair]);
    expect(() => undeclared.encode()).toThrow(/not looked up/);
    // Apart from the declarations, the same messages as with the maps known (the recorded batch).
    const known = withMaps();
    queueChanges(known, [pair]);
    const NEWSET = (10 << 8) | 9;
    expect(messages(declared.encode()).filter((m) => m.readUInt16LE(4) !== NEWSET)).toEqual(
      messages(known.encode()).filter((m) => m.readUInt16LE(4) !== NEWSET),
    );
  });
});

/** A batch's netlink messages. */
function messages(batch: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < batch.length;) {
    const len = batch.readUInt32LE(off);
    out.push(batch.subarray(off, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}
