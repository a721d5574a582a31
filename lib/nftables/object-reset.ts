/**
 * Resetting a named object (`nft reset counter`, `nft reset quota`):
 * NFT_MSG_GETOBJ_RESET reads the object and zeroes its counters in one
 * kernel step, so no packet counted in between is lost.
 * @module
 */
import { DecodeError } from '../netlink/errors';
import { call, type Operation } from '../netlink/operation';
import { NetlinkWriter } from '../netlink/writer';
import { validateNftName } from '../validate/names';
import * as C from './constants';
import { asNotFound } from './list';
import { beginNft, familyNumber, nftCommand } from './message';
import { decodeObject, describeObject, type NftObject, type ObjectRef } from './object';
import { OBJECT_TYPES } from './object-types';

/** The `reset` verb of `h.nft.objects`. */
export const nftObjectResetOps = {
  /**
   * Resets a named counter (packets, bytes) or quota (consumed) to zero and
   * returns the object as it was just before; NotFoundError if it does not exist.
   * @example
   * const before = await h.nft.objects.reset({ family: 'inet', table: 'filter', name: 'http', type: 'counter' });
   * // { type: 'counter', packets: 12n, bytes: 840n, ... }; the counter now reads 0
   */
  *reset(ref: ObjectRef): Operation<NftObject> {
    const w = new NetlinkWriter();
    beginNft(w, C.NFT_MSG_GETOBJ_RESET, 0, familyNumber(ref.family));
    w.string(C.NFTA_OBJ_TABLE, validateNftName(ref.table, 'table name'));
    w.string(C.NFTA_OBJ_NAME, validateNftName(ref.name, 'object name'));
    w.be32(C.NFTA_OBJ_TYPE, OBJECT_TYPES.number(ref.type, 'object type'));
    let replies;
    try {
      replies = yield* call(w.end().finish(), `reset nftables ${describeObject(ref)}`);
    } catch (e) {
      throw asNotFound(e, 'nftables object');
    }
    const m = replies.find((r) => nftCommand(r) === C.NFT_MSG_NEWOBJ);
    if (!m) throw new DecodeError('nftables object', `the kernel answered a reset of ${describeObject(ref)} without the object`);
    return decodeObject(m);
  },
};
