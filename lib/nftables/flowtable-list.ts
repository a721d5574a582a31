/**
 * `h.nft.flowtables`: list, get, find. Flowtables are added and deleted in
 * transactions (`tx.addFlowtable`, `tx.deleteFlowtable`), like every
 * nftables change.
 * @module
 */
import { ENOENT } from '../netlink/errno';
import { NotFoundError, ValidationError } from '../netlink/errors';
import type { Operation } from '../netlink/operation';
import { validateNftName } from '../validate/names';
import { isObject, rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { dumpCommand } from './dump';
import { decodeFlowtable, describeFlowtable, type Flowtable, type FlowtableRef } from './flowtable';
import type { NftFilter } from './list';

const FILTER_KEYS = ['family', 'table'] as const;
const REF_KEYS = ['family', 'table', 'name', 'handle', 'hook', 'priority', 'devices', 'flags', 'use'] as const;

/** `h.nft.flowtables` (operations: run them on a netfilter connection; the handle binds them). */
export const nftFlowtableOps = {
  /**
   * Lists flowtables, optionally of one family or table.
   * @example
   * const fts = await h.nft.flowtables.list({ family: 'inet', table: 'filter' });
   */
  *list(filter?: Pick<NftFilter, 'family' | 'table'>): Operation<Flowtable[]> {
    const f = rejectUnknownKeys(filter, FILTER_KEYS, 'nftables filter') ?? {};
    const msgs = yield* dumpCommand(C.NFT_MSG_GETFLOWTABLE, f.family, 'flowtables');
    return msgs.map(decodeFlowtable).filter((x) => (f.family === undefined || x.family === f.family) && (f.table === undefined || x.table === f.table));
  },

  /**
   * Gets one flowtable by name (or handle); NotFoundError if there is none.
   * @example
   * const ft = await h.nft.flowtables.get({ family: 'inet', table: 'filter', name: 'ft' }); // ft.devices
   */
  *get(ref: FlowtableRef): Operation<Flowtable> {
    const found = yield* nftFlowtableOps.find(ref);
    if (!found) throw new NotFoundError({ what: 'nftables flowtable', errno: ENOENT, operation: `get nftables flowtable ${describeFlowtable(ref)}` });
    return found;
  },

  /**
   * Like {@link nftFlowtableOps.get}, but undefined if there is no such flowtable.
   * @example
   * if (!(await h.nft.flowtables.find({ family: 'inet', table: 'filter', name: 'ft' }))) console.log('no flowtable');
   */
  *find(ref: FlowtableRef): Operation<Flowtable | undefined> {
    if (!isObject(ref)) throw new ValidationError('flowtable', ref, 'must be { family, table, name } or { family, table, handle }');
    rejectUnknownKeys(ref, REF_KEYS, 'flowtable');
    const table = validateNftName(ref.table, 'table name');
    if (ref.handle === undefined) validateNftName(ref.name, 'flowtable name');
    const all = yield* nftFlowtableOps.list({ family: ref.family, table });
    return all.find((x) => (ref.handle !== undefined ? x.handle === ref.handle : x.name === ref.name));
  },
};
