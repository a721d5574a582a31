/**
 * Resetting stateful values (`nft reset counter`, `reset quota`, `reset
 * rules`): the NFT_MSG_GET*_RESET requests read an object and zero its
 * counters and quotas in one kernel step, so nothing counted in between is
 * lost. Each resolves to the object as it was just before.
 * @module
 */
import { DecodeError } from '../netlink/errors';
import { call, type Operation } from '../netlink/operation';
import type { NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { validateInteger } from '../validate/integers';
import { validateNftName } from '../validate/names';
import * as C from './constants';
import { asNotFound } from './list';
import { beginNft, familyNumber, nftCommand, type NftFamily } from './message';
import { decodeObject, describeObject, type NftObject, type ObjectRef } from './object';
import { OBJECT_TYPES } from './object-types';
import { decodeRule, describeRule, type Rule, type RuleRef } from './rule';

/** Sends a GET*_RESET for one object and returns the NEW* message it is answered with. */
function* resetOne(msg: number, answer: number, family: NftFamily, kind: string, what: string, attrs: (w: NetlinkWriter) => void): Operation<NetlinkMessage> {
  const w = new NetlinkWriter();
  beginNft(w, msg, 0, familyNumber(family));
  attrs(w);
  let replies;
  try {
    replies = yield* call(w.end().finish(), `reset nftables ${what}`);
  } catch (e) {
    throw asNotFound(e, `nftables ${kind}`);
  }
  const m = replies.find((r) => nftCommand(r) === answer);
  if (!m) throw new DecodeError(`nftables ${kind}`, `the kernel answered a reset of ${what} without it`);
  return m;
}

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
    const table = validateNftName(ref.table, 'table name');
    const name = validateNftName(ref.name, 'object name');
    const type = OBJECT_TYPES.number(ref.type, 'object type');
    const m = yield* resetOne(C.NFT_MSG_GETOBJ_RESET, C.NFT_MSG_NEWOBJ, ref.family, 'object', describeObject(ref), (w) => {
      w.string(C.NFTA_OBJ_TABLE, table);
      w.string(C.NFTA_OBJ_NAME, name);
      w.be32(C.NFTA_OBJ_TYPE, type);
    });
    return decodeObject(m);
  },
};

/** The `reset` verb of `h.nft.rules`. */
export const nftRuleResetOps = {
  /**
   * Resets the counters and quotas of one rule (`nft reset rule`) and returns
   * the rule as it was just before; NotFoundError if it does not exist.
   * @example
   * const before = await h.nft.rules.reset({ family: 'inet', table: 'filter', chain: 'input', handle: 7 });
   * // before.expressions: [..., { type: 'counter', packets: 3n, bytes: 180n }]; the rule's counter now reads 0
   */
  *reset(ref: RuleRef | Rule): Operation<Rule> {
    const table = validateNftName(ref.table, 'table name');
    const chain = validateNftName(ref.chain, 'chain name');
    const handle = validateInteger(ref.handle, 'rule handle', 1, Number.MAX_SAFE_INTEGER);
    const m = yield* resetOne(C.NFT_MSG_GETRULE_RESET, C.NFT_MSG_NEWRULE, ref.family, 'rule', `rule ${describeRule(ref)}`, (w) => {
      w.string(C.NFTA_RULE_TABLE, table);
      w.string(C.NFTA_RULE_CHAIN, chain);
      w.be64(C.NFTA_RULE_HANDLE, BigInt(handle));
    });
    return decodeRule(m);
  },
};
