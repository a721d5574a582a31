// A set's element layout is derived once per distinct listing and then reused
// (adding elements reads the set at every commit): the same definition listed
// at another ruleset generation gives the same layout object, another
// definition its own, correct layout.
import { describe, expect, it } from 'vitest';
import { parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { shapeOfMessage } from '../../lib/nftables/list';
import { writeNewSet, type NftSet } from '../../lib/nftables/set';

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
