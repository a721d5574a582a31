/**
 * Dumping nftables objects so that a listing converges while other agents
 * commit (see {@link dumpCommand}).
 * @module
 */
import { NLM_F_DUMP } from '../netlink/constants';
import { DumpInterruptedError } from '../netlink/errors';
import { dumpOnce, type Operation } from '../netlink/operation';
import type { NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import * as C from './constants';
import { beginNft, familyNumber, messageAttributes, nftCommand, type NftFamily } from './message';

function familyFilter(f: NftFamily | undefined): number {
  return f === undefined ? C.NFPROTO_UNSPEC : familyNumber(f);
}

/** The attributes that identify a dumped object: its table's name (or its own, for a table) and its handle. */
const IDENTITY: Partial<Record<number, readonly [name: number, handle: number]>> = {
  [C.NFT_MSG_GETTABLE]: [C.NFTA_TABLE_NAME, C.NFTA_TABLE_HANDLE],
  [C.NFT_MSG_GETCHAIN]: [C.NFTA_CHAIN_TABLE, C.NFTA_CHAIN_HANDLE],
  [C.NFT_MSG_GETRULE]: [C.NFTA_RULE_TABLE, C.NFTA_RULE_HANDLE],
  [C.NFT_MSG_GETSET]: [C.NFTA_SET_TABLE, C.NFTA_SET_HANDLE],
  [C.NFT_MSG_GETOBJ]: [C.NFTA_OBJ_TABLE, C.NFTA_OBJ_HANDLE],
};

/** Dumps in a row before a listing that keeps changing gives up with DumpInterruptedError. */
const LIST_ATTEMPTS = 10;

/** The objects a dump listed, in order: family, table and handle of each. */
function identities(msgs: NetlinkMessage[], [name, handle]: readonly [number, number]): string {
  return msgs
    .map((m) => {
      const a = messageAttributes(m);
      return `${m.payload[0]}/${a.get(name)?.toString('latin1') ?? ''}/${a.get(handle)?.toString('hex') ?? ''}`;
    })
    .join(',');
}

/**
 * Dumps one kind of object. Every commit anywhere in the namespace marks a
 * running dump interrupted (the kernel cannot tell whose objects changed),
 * so a big listing next to a busy committer is nearly always flagged.
 * Handles are never reused: two dumps in a row that list the same objects
 * saw none of them change, and the second is complete.
 */
export function* dumpCommand(msg: number, family: NftFamily | undefined, what: string, attrs?: (w: NetlinkWriter) => void): Operation<NetlinkMessage[]> {
  const w = new NetlinkWriter();
  beginNft(w, msg, NLM_F_DUMP, familyFilter(family));
  attrs?.(w);
  const request = w.end().finish();
  const operation = `list nftables ${what}`;
  const identity = IDENTITY[msg];
  let previous: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const { messages, interrupted } = yield* dumpOnce(request, operation);
    const replies = messages.filter((m) => nftCommand(m) === msg - 1); // GETx is answered with NEWx
    if (!interrupted) return replies;
    const listed = identity && identities(replies, identity);
    if (listed !== undefined && listed === previous) return replies;
    previous = listed;
    if (attempt >= LIST_ATTEMPTS) throw new DumpInterruptedError(operation);
  }
}
