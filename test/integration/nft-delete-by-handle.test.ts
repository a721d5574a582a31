// Sets and named objects are deleted by handle, as tables, chains, rules and
// flowtables are: `deleteSet({ family, table, handle })` and
// `deleteObject({ family, table, type, handle })` send NFTA_SET_HANDLE /
// NFTA_OBJ_HANDLE with DELSET / DELOBJ (DESTROY with `missingOk`). They took
// only a name before: the handle key was accepted (a listed object is its own
// reference) and dropped, and a handle alone was refused for want of a name.
// The state is written by nft, the deletes by nlkit, and read back with
// `nft -j list ruleset`.
import { describe, expect, it } from 'vitest';
import { NftCommandError } from '../../lib';
import { nft, nftLoad, nftObjects } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

const RULESET = `
table inet h {
  counter hits { packets 5 bytes 300 }
  counter other { }
  quota q { 100 mbytes }
  set allowed { type ipv4_addr; elements = { 192.0.2.7 } }
  set keep { type ipv4_addr; }
  map ports { type inet_service : verdict; elements = { 22 : accept } }
}`;

/** nft's name → handle of the sets, maps and named objects of table inet h. */
function handles(ns: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of ['set', 'map', 'counter', 'quota']) for (const o of nftObjects(ns, kind, 'h')) out[`${kind} ${o.name}`] = o.handle as number;
  return out;
}

describe('nftables: sets and objects deleted by handle', () => {
  const box = useNetns('nftdelh');
  const ns = () => box.ns('nftdelh');
  const h = () => box.h('nftdelh');
  const T = { family: 'inet', table: 'h' } as const;

  it('deletes a set, a map and named objects by handle alone; the others stay', async () => {
    nftLoad(ns(), RULESET);
    const before = handles(ns());
    expect(Object.keys(before).sort()).toEqual(['counter hits', 'counter other', 'map ports', 'quota q', 'set allowed', 'set keep']);

    const tx = h().nft.transaction();
    tx.deleteSet({ ...T, handle: before['set allowed'] });
    tx.deleteSet({ ...T, handle: before['map ports'] });
    tx.deleteObject({ ...T, type: 'counter', handle: before['counter hits'] });
    tx.deleteObject({ ...T, type: 'quota', handle: before['quota q'] });
    expect(tx.describe()).toEqual([
      `delete set inet h #${before['set allowed']}`,
      `delete set inet h #${before['map ports']}`,
      `delete counter inet h #${before['counter hits']}`,
      `delete quota inet h #${before['quota q']}`,
    ]);
    await tx.commit();
    expect(handles(ns())).toEqual({ 'set keep': before['set keep'], 'counter other': before['counter other'] });
  });

  it('by handle, the handle decides: a listed set or object (name and handle) deletes the one with that handle', async () => {
    nft(ns(), 'flush', 'ruleset');
    nftLoad(ns(), 'table inet h {\n set keep { type ipv4_addr; }\n counter other { }\n}');
    const [keep] = await h().nft.sets.list(T);
    const [other] = await h().nft.objects.list({ ...T, type: 'counter' });
    expect(keep.handle).toBeGreaterThan(0);
    expect(other.handle).toBeGreaterThan(0);
    // A handle no set has: the kernel's ENOENT for the command, though the name is there.
    const wrong = h().nft.transaction();
    wrong.deleteSet({ ...keep, handle: 999_999 });
    const err = await wrong.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NftCommandError);
    expect((err as NftCommandError).code).toBe('ENOENT');
    expect(nftObjects(ns(), 'set', 'h').map((s) => s.name)).toEqual(['keep']);

    const tx = h().nft.transaction();
    tx.deleteSet(keep);
    tx.deleteObject(other);
    await tx.commit();
    expect(nftObjects(ns(), 'set', 'h')).toEqual([]);
    expect(nftObjects(ns(), 'counter', 'h')).toEqual([]);
  });

  it('destroys by handle (missingOk): a handle that is gone is no error', async () => {
    nft(ns(), 'flush', 'ruleset');
    nftLoad(ns(), 'table inet h {\n set s { type ipv4_addr; }\n counter c { }\n}');
    const s = nftObjects(ns(), 'set', 'h')[0].handle as number;
    const c = nftObjects(ns(), 'counter', 'h')[0].handle as number;
    const tx = h().nft.transaction();
    tx.deleteSet({ ...T, handle: s }, { missingOk: true });
    tx.deleteObject({ ...T, type: 'counter', handle: c }, { missingOk: true });
    expect(tx.describe()).toEqual([`destroy set inet h #${s}`, `destroy counter inet h #${c}`]);
    await tx.commit();
    expect(nftObjects(ns(), 'set', 'h')).toEqual([]);
    expect(nftObjects(ns(), 'counter', 'h')).toEqual([]);
    const again = h().nft.transaction();
    again.deleteSet({ ...T, handle: s }, { missingOk: true });
    again.deleteObject({ ...T, type: 'counter', handle: c }, { missingOk: true });
    await again.commit();
  });
});
