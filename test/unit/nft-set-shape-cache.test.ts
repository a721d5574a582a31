// A set's element layout is derived once per distinct listing and then reused
// (adding elements reads the set at every commit): the same definition listed
// at another ruleset generation gives the same layout object, another
// definition its own, correct layout.
import { describe, expect, it } from 'vitest';
import { parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { shapeOfMessage } from '../../lib/nftables/list';
import type { SetElement } from '../../lib/nftables/elements';
import { writeNewSet, type NftSet } from '../../lib/nftables/set';
import { definitionShape } from '../../lib/nftables/set-shape-cache';
import { Transaction } from '../../lib/nftables/transaction';

/** A NEWSET message as the kernel lists it, at ruleset generation `generation` (nfgenmsg res_id). */
function listing(s: NftSet, generation: number): NetlinkMessage {
  const w = new NetlinkWriter();
  writeNewSet(w, s, 0, 1);
  const [m] = parseMessages(w.finish());
  m.payload.writeUInt16BE(generation, 2);
  return m;
}

const endpoints: NftSet = {
  family: 'ip',
  table: 'svc',
  name: 'endpoints4',
  keyType: ['ipv4_addr', 'inet_service', 'mark'],
  dataType: ['ipv4_addr', 'inet_service'],
};

describe('set layouts by listing', () => {
  it('reuses the layout of the same definition at another generation', () => {
    const a = shapeOfMessage(listing(endpoints, 7));
    const b = shapeOfMessage(listing(endpoints, 8));
    expect(b).toBe(a);
    expect(a.keyFieldLengths).toEqual([4, 2, 4]);
    expect(a.map).toBe('data');
  });

  it('gives another definition its own layout', () => {
    const a = shapeOfMessage(listing(endpoints, 7));
    const other = shapeOfMessage(listing({ ...endpoints, dataType: 'verdict' }, 7));
    const renamed = shapeOfMessage(listing({ ...endpoints, name: 'endpoints6', keyType: ['ipv6_addr', 'inet_service', 'mark'] }, 7));
    expect(other).not.toBe(a);
    expect(other.map).toBe('verdict');
    expect(renamed.keyFieldLengths).toEqual([16, 2, 4]);
  });
});

// A definition given to addSet is laid out once while its fields stay the same (a services change declares the
// same constant maps each time); one changed in place, even inside an array, is laid out again.
describe('set layouts by definition object', () => {
  const withElement = (s: NftSet, e: SetElement) => {
    const tx = new Transaction();
    tx.addSet(s);
    tx.addElements({ family: s.family, table: s.table, name: s.name }, [e]);
    return tx.encode();
  };

  it('gives the same definition object its layout again, and a changed one a new layout', () => {
    const def: NftSet = { ...endpoints, keyType: ['ipv4_addr', 'inet_service', 'mark'] };
    const a = definitionShape(def);
    expect(definitionShape(def)).toBe(a);
    (def.keyType as string[])[1] = 'inet_proto'; // changed in place: same object, same array
    const b = definitionShape(def);
    expect(b).not.toBe(a);
    expect(b.keyFieldLengths).toEqual([4, 1, 4]);
    def.dataType = 'verdict';
    expect(definitionShape(def).map).toBe('verdict');
    def.flags = ['interval'];
    expect(definitionShape(def).interval).toBe(true);
  });

  it('encodes the elements of a definition changed between transactions with its new layout', () => {
    const def: NftSet = { family: 'ip', table: 'svc', name: 'm', keyType: ['ipv4_addr', 'inet_service'], dataType: 'verdict' };
    const fresh = (s: NftSet) => ({ ...s, keyType: [...(s.keyType as string[])] }) as NftSet;
    const e4 = { key: ['10.0.0.1', 80], verdict: { code: 'accept' } } as SetElement;
    expect(withElement(def, e4)).toEqual(withElement(fresh(def), e4));
    (def.keyType as string[])[0] = 'ipv6_addr';
    const e6 = { key: ['fd00::1', 80], verdict: { code: 'accept' } } as SetElement;
    // The old layout (4-byte address) would refuse or misencode the IPv6 key: the same bytes as a never-seen copy.
    expect(withElement(def, e6)).toEqual(withElement(fresh(def), e6));
  });
});
