/**
 * What a transaction is given to add, create or replace: a key its kind does
 * not have (a typo such as `polciy`) is refused with a ValidationError naming
 * it, and nothing is queued; the read-only keys a listing returns are
 * accepted and not written; numbers out of the kernel's ranges (set size,
 * timeouts, gc interval, key length, policy, handles, counters) are refused
 * before anything is sent. Also: nlkit's own callers (services) pass only
 * keys an element has.
 */
import { describe, expect, it } from 'vitest';
import { rule } from '../../lib';
import type { NftObject, NftSet, SetElement } from '../../lib/nftables';
import { Transaction } from '../../lib/nftables/transaction';
import { ELEMENT_KEYS } from '../../lib/nftables/write-keys';
import { diffPortMembers } from '../../lib/services/members';
import { serviceLayout } from '../../lib/services/service-layout';
import { toServiceRecord } from '../../lib/services/spec';
import { queueTable } from '../../lib/services/table';
import { refused } from '../helpers/refused';

const T = { family: 'inet', table: 't' } as const;
const SET: NftSet = { ...T, name: 's', keyType: 'ipv4_addr', flags: ['timeout'] };
const hex = (tx: Transaction) => tx.encode({ echo: 'none' }).toString('hex');

describe('nftables transaction: unknown keys', () => {
  it('refuses a misspelt key of every kind of object, naming it, and queues nothing', () => {
    const tx = new Transaction();
    refused(() => tx.addTable({ family: 'inet', name: 't', comments: 'x' } as never), 'table', '"comments"', 'unknown option');
    refused(() => tx.addChain({ ...T, name: 'c', type: 'filter', hook: 'input', polciy: 'drop' } as never), 'chain', '"polciy"');
    refused(() => tx.addChain({ ...T, name: 'c', chain: 'c' } as never), 'chain', '"chain"');
    refused(() => tx.addSet({ ...SET, sizee: 10 } as never), 'set', '"sizee"');
    refused(() => tx.addSet({ ...SET, flag: ['interval'] } as never), 'set', '"flag"');
    refused(() => tx.addSet(SET, [{ key: '10.0.0.1', timout: 1000 } as never]), 'element', '"timout"');
    refused(() => tx.addElements({ ...T, name: 's' }, [{ key: '10.0.0.1' }, { key: '10.0.0.2', verdcit: { code: 'drop' } } as never]), 'element', '"verdcit"');
    refused(() => tx.deleteElements({ ...T, name: 's' }, [{ kye: '10.0.0.1' } as never]), 'element', '"kye"');
    refused(() => tx.addRule({ ...T, chain: 'c', rule: rule().accept(), commment: 'x' } as never), 'rule', '"commment"');
    refused(() => tx.insertRule({ ...T, chain: 'c', expressions: [], userData: Buffer.from('x') } as never), 'rule', '"userData"');
    refused(() => tx.replaceRule({ ...T, chain: 'c', handle: 3, rule: rule().drop(), hanlde: 4 } as never), 'rule', '"hanlde"');
    const anon = { ...T, name: '__set0', keyType: 'inet_service', flags: ['anonymous', 'constant'], elements: [{ key: 22 }] } as const;
    const lookup = [{ type: 'lookup', set: '__set0', sreg: 1 }] as never;
    refused(() => tx.addRule({ ...T, chain: 'c', expressions: lookup, anonymousSets: [{ ...anon, sise: 2 } as never] }), 'anonymous set', '"sise"');
    refused(
      () => tx.addRule({ ...T, chain: 'c', expressions: lookup, anonymousSets: [{ ...anon, elements: [{ key: 22, vlaue: 1 } as never] }] }),
      'element',
      '"vlaue"',
    );
    refused(() => tx.addObject({ ...T, name: 'n', type: 'counter', packet: 5n } as never), 'counter object', '"packet"');
    refused(() => tx.addObject({ ...T, name: 'q', type: 'quota', bytes: 10n, inverted: true } as never), 'quota object', '"inverted"');
    refused(() => tx.addObject({ ...T, name: 'h', type: 'ct helper', helper: 'ftp', protocl: 'tcp' } as never), 'ct helper object', '"protocl"');
    refused(() => tx.addObject({ ...T, name: 'x', type: 'connlimit', data: Buffer.alloc(0), count: 3 } as never), 'connlimit object', '"count"');
    refused(() => tx.addFlowtable({ ...T, name: 'ft', device: 'lo' } as never), 'flowtable', '"device"');
    refused(() => tx.addTable({ family: 'inet', name: 't' }, { exlusive: true } as never), 'add options', '"exlusive"');
    refused(() => tx.addRule({ ...T, chain: 'c', rule: rule().accept() }, { aftr: 3 } as never), 'addRule options', '"aftr"');
    refused(() => tx.insertRule({ ...T, chain: 'c', rule: rule().accept() }, { idx: 0 } as never), 'insertRule options', '"idx"');
    refused(() => tx.addChain(null as never), 'chain', 'must be an object');
    expect(tx.size).toBe(0);
    refused(() => tx.encode({ ecno: 'none' } as never), 'encode options', '"ecno"');
  });

  it('refuses unknown commit options', async () => {
    const tx = new Transaction(() => Promise.reject(new Error('must not be sent')));
    tx.addTable({ family: 'inet', name: 't' });
    await expect(tx.commit({ expectGen: 3 } as never)).rejects.toThrow(/commit options "expectGen": unknown option/);
  });

  it('accepts what a listing returns (read-only keys) and writes nothing of those keys; an element counter is written with its values', () => {
    const element: SetElement = { key: '10.0.0.1', timeout: 60_000, expires: 59_000, counter: { packets: 3n, bytes: 180n } };
    const objects: NftObject[] = [
      { ...T, name: 'n', type: 'counter', packets: 1n, bytes: 2n, handle: 7, use: 2 },
      { ...T, name: 'q', type: 'quota', bytes: 100n, consumed: 100n, depleted: true, handle: 8, use: 0 },
    ];
    const listed = new Transaction();
    listed.addTable({ family: 'inet', name: 't', handle: 4, use: 3, owner: 1234 });
    listed.addChain({ ...T, name: 'c', type: 'filter', hook: 'input', priority: 0, policy: 'drop', handle: 1, use: 0 });
    listed.addSet({ ...SET, counter: true, handle: 2, elements: [element] } as NftSet);
    listed.addRule({ ...T, chain: 'c', expressions: rule().accept().toExpressions('inet'), handle: 5 } as never);
    for (const o of objects) listed.addObject(o);
    listed.addFlowtable({ ...T, name: 'ft', hook: 'ingress', priority: 0, devices: [], handle: 9, use: 1 });

    const written = new Transaction();
    written.addTable({ family: 'inet', name: 't' });
    written.addChain({ ...T, name: 'c', type: 'filter', hook: 'input', priority: 0, policy: 'drop' });
    // The counter with its values (it was dropped: the kernel gave the element a new one at 0).
    written.addSet({ ...SET, counter: true }, [{ key: '10.0.0.1', timeout: 60_000, expressions: [{ type: 'counter', packets: 3n, bytes: 180n }] }]);
    written.addRule({ ...T, chain: 'c', expressions: rule().accept().toExpressions('inet') });
    written.addObject({ ...T, name: 'n', type: 'counter', packets: 1n, bytes: 2n });
    written.addObject({ ...T, name: 'q', type: 'quota', bytes: 100n, consumed: 100n });
    written.addFlowtable({ ...T, name: 'ft', hook: 'ingress', priority: 0, devices: [] });
    expect(hex(listed)).toBe(hex(written));
  });

  it('adds the elements a listed set carries, and refuses them given twice', () => {
    const withElements = new Transaction();
    withElements.addSet({ ...SET, elements: [{ key: '10.0.0.1' }] } as NftSet);
    const asArgument = new Transaction();
    asArgument.addSet(SET, [{ key: '10.0.0.1' }]);
    expect(hex(withElements)).toBe(hex(asArgument));
    refused(() => withElements.addSet({ ...SET, elements: [{ key: '10.0.0.1' }] } as NftSet, [{ key: '10.0.0.2' }]), 'give the elements once');
  });
});

describe('nftables transaction: ranges', () => {
  const set = (extra: Partial<NftSet>) => () => new Transaction().addSet({ ...SET, ...extra });

  it('refuses set sizes, timeouts, gc intervals, key and data lengths and policies the kernel does not take', () => {
    for (const size of [0, -1, 1.5, 2 ** 32]) refused(set({ size }), 'size');
    for (const timeout of [-1, 1.5, 18_446_744_073_709, Number.MAX_SAFE_INTEGER]) refused(set({ timeout }), 'timeout');
    for (const gcInterval of [-1, 2 ** 32, 0.5]) refused(set({ gcInterval }), 'gcInterval');
    refused(set({ gcInterval: 1000, flags: [] }), 'gcInterval', 'needs the "timeout" flag');
    for (const keyLength of [0, 65, 2.5]) refused(set({ keyType: 'integer', keyLength }), 'keyLength');
    refused(set({ dataType: 'integer', dataLength: 65 }), 'dataLength');
    refused(set({ dataType: 'ipv4_addr', dataLength: 33, dataInterval: true }), 'dataLength');
    refused(set({ policy: 'fast' as never }), 'policy');
    refused(set({ handle: -2 }), 'set handle');
    refused(() => new Transaction().addElements({ ...T, name: 's' }, [{ key: '10.0.0.1', timeout: 18_446_744_073_709 }]), 'element timeout');
    // The limits themselves are taken.
    expect(() => set({ size: 0xffffffff, timeout: 18_446_744_073_708, gcInterval: 0xffffffff, policy: 'memory' })()).not.toThrow();
    expect(() => set({ keyType: 'integer', keyLength: 64, dataType: 'integer', dataLength: 64 })()).not.toThrow();
  });

  it('refuses handles that are not positive integers a number holds exactly', () => {
    const tx = new Transaction();
    for (const handle of [0, -1, 1.5, 2 ** 53, 2 ** 64, NaN]) {
      refused(() => tx.deleteRule({ ...T, chain: 'c', handle }), 'rule handle');
      refused(() => tx.deleteTable({ family: 'inet', handle }), 'table handle');
      refused(() => tx.deleteChain({ ...T, handle }), 'chain handle');
      refused(() => tx.deleteFlowtable({ ...T, handle }), 'flowtable handle');
      refused(() => tx.renameChain({ ...T, handle }, 'd'), 'chain handle');
      refused(() => tx.replaceRule({ ...T, chain: 'c', handle, rule: rule().drop() }), 'rule handle');
      refused(() => tx.insertRule({ ...T, chain: 'c', rule: rule().drop() }, { before: handle }), 'position');
      refused(() => tx.addChain({ ...T, name: 'c', handle }), 'chain handle');
      refused(() => tx.addObject({ ...T, name: 'n', type: 'counter', handle }), 'object handle');
    }
    expect(tx.size).toBe(0);
    tx.deleteRule({ ...T, chain: 'c', handle: Number.MAX_SAFE_INTEGER });
    expect(tx.size).toBe(1);
  });

  it('refuses counter values below 0 or above 2^64 - 1 (objects and counter expressions)', () => {
    const tx = new Transaction();
    refused(() => tx.addObject({ ...T, name: 'n', type: 'counter', packets: -1n }), 'counter packets', '"-1"');
    refused(() => tx.addObject({ ...T, name: 'n', type: 'counter', bytes: 2n ** 64n }), 'counter bytes');
    refused(() => tx.addObject({ ...T, name: 'q', type: 'quota', bytes: 10n, consumed: -5n }), 'quota consumed');
    refused(() => tx.addRule({ ...T, chain: 'c', expressions: [{ type: 'counter', packets: -1n }] }), 'counter packets');
    expect(tx.size).toBe(0);
    tx.addObject({ ...T, name: 'n', type: 'counter', packets: 2n ** 64n - 1n, bytes: 0n });
    expect(tx.size).toBe(1);
  });

  it('refuses an element counter that is not { packets, bytes } of 0 to 2^64 - 1, and queues nothing', () => {
    const tx = new Transaction();
    const S = { ...T, name: 's' };
    const bad: Array<[unknown, ...string[]]> = [
      [{ packets: -1n, bytes: 0n }, 'element counter packets', '"-1"'],
      [{ packets: 0n, bytes: 2n ** 64n }, 'element counter bytes'],
      [{ packets: 1n }, 'element counter bytes'],
      [{ packets: 1n, bytes: 2n, pakets: 3n }, 'element counter', '"pakets"'],
      [5n, 'element counter', 'must be { packets, bytes }'],
      [[1n, 2n], 'element counter', 'must be { packets, bytes }'],
    ];
    for (const [counter, ...parts] of bad) {
      refused(() => tx.addElements(S, [{ key: '10.0.0.1', counter } as never]), ...parts);
      refused(() => tx.addSet({ ...SET, counter: true }, [{ key: '10.0.0.1', counter } as never]), ...parts);
    }
    expect(tx.size).toBe(0);
  });

  it('writes an element counter first, before the element’s other expressions (the kernel takes them in the set’s order)', () => {
    const quota = { type: 'quota', bytes: 1000n, consumed: 30n } as const;
    const given = new Transaction();
    given.addSet({ ...SET, counter: true, expressions: [quota] }, [{ key: '10.0.0.1', counter: { packets: 4n, bytes: 30n }, expressions: [quota] }]);
    const written = new Transaction();
    written.addSet({ ...SET, counter: true, expressions: [quota] }, [{ key: '10.0.0.1', expressions: [{ type: 'counter', packets: 4n, bytes: 30n }, quota] }]);
    expect(hex(given)).toBe(hex(written));
  });
});

describe("nlkit's own callers", () => {
  it('services pass hairpin members as elements with element keys only', () => {
    const rec = (n: number) =>
      toServiceRecord({
        name: 'web',
        vips: ['10.96.0.10'],
        ports: [{ port: 80 }],
        endpoints: Array.from({ length: n }, (_, i) => ({ ip: `10.200.0.${i + 1}` })),
        sessionAffinity: { timeoutSeconds: 30 },
      });
    const elements: SetElement[] = [];
    diffPortMembers(
      serviceLayout(rec(3)).members,
      serviceLayout(rec(1)).members,
      (_s, e) => elements.push(e),
      (_s, e) => elements.push(e),
    );
    diffPortMembers(
      serviceLayout(rec(1)).members,
      serviceLayout(rec(3)).members,
      (_s, e) => elements.push(e),
      (_s, e) => elements.push(e),
    );
    expect(elements.length).toBeGreaterThan(0);
    for (const e of elements) for (const k of Object.keys(e)) expect(ELEMENT_KEYS).toContain(k);
    // The whole table of a service with hairpin members and an affinity map queues (and encodes) without a refused key.
    const tx = new Transaction();
    queueTable(tx, [rec(3)]);
    expect(tx.size).toBeGreaterThan(10);
  });
});
