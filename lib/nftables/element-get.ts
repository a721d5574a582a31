/**
 * Getting one element of a set or map by its key (`nft get element`):
 * NFT_MSG_GETSETELEM without NLM_F_DUMP, the key encoded for the set's
 * types; the kernel answers with the element as stored (data, timeout,
 * counter, comment) or ENOENT. In an interval set a key inside a range
 * gets the whole range: the kernel answers with its start and end elements,
 * joined here as for a listing (`10.1.2.3` gets `10.0.0.0/8`), as nft does.
 * @module
 */
import { DecodeError, NotFoundError } from '../netlink/errors';
import { call, type Operation } from '../netlink/operation';
import { NetlinkWriter } from '../netlink/writer';
import { rejectUnknownKeys } from '../validate/options';
import * as C from './constants';
import { assembleElements, decodeElementMessage, writeElements, type ElementValue, type SetElement } from './elements';
import { asNotFound, getSetMessage, shapeOfMessage } from './list';
import { nftCommand } from './message';
import { describeSet, type SetRef } from './set';

/** Which element: its set and its key (and, for a range of a concatenated interval set, its end). */
export interface ElementRef extends SetRef {
  /** The element's key, as it was added. */
  key: ElementValue;
  /** Inclusive end of a range (concatenated interval sets). */
  keyEnd?: ElementValue;
}

const ELEMENT_REF_KEYS = ['family', 'table', 'name', 'key', 'keyEnd'];

function* getElement(ref: ElementRef): Operation<SetElement> {
  rejectUnknownKeys(ref, ELEMENT_REF_KEYS, 'element');
  const shape = shapeOfMessage(yield* getSetMessage(ref));
  const element: SetElement = { key: ref.key };
  if (ref.keyEnd !== undefined) element.keyEnd = ref.keyEnd;
  const w = new NetlinkWriter();
  writeElements(w, C.NFT_MSG_GETSETELEM, 0, { family: ref.family, table: ref.table, set: ref.name }, shape, [element]);
  let replies;
  try {
    replies = yield* call(w.finish(), `get element of nftables set ${describeSet(ref)}`);
  } catch (e) {
    throw asNotFound(e, 'nftables element');
  }
  const raw = replies.filter((m) => nftCommand(m) === C.NFT_MSG_NEWSETELEM).flatMap((m) => decodeElementMessage(m).elements);
  const found = assembleElements(shape, raw).at(0);
  if (!found) throw new DecodeError('nftables element', `the kernel answered a get of an element of ${describeSet(ref)} without it`);
  return found;
}

/** The `get` and `find` verbs of `h.nft.elements`. */
export const nftElementGetOps = {
  /**
   * Gets one element by its key, with what the kernel stores for it (mapped
   * value or verdict, timeout, counter, comment); in an interval set, the
   * range containing the key. NotFoundError if the set has no such element
   * (or there is no such set).
   * @example
   * const el = await h.nft.elements.get({ family: 'inet', table: 'filter', name: 'allowed', key: '192.168.1.1' });
   * const port = await h.nft.elements.get({ family: 'inet', table: 'nat', name: 'ports', key: ['10.0.0.2', 80] });
   */
  *get(ref: ElementRef): Operation<SetElement> {
    return yield* getElement(ref);
  },

  /**
   * Like {@link nftElementGetOps.get}, but undefined if the element (or the set) is not there.
   * @example
   * const el = await h.nft.elements.find({ family: 'inet', table: 'filter', name: 'allowed', key: '10.1.1.1' });
   */
  *find(ref: ElementRef): Operation<SetElement | undefined> {
    try {
      return yield* getElement(ref);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  },
};
