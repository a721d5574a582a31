/**
 * Turns the byte offset the kernel reports with an error (extended ack
 * NLMSGERR_ATTR_OFFS) into words: which attribute of the failing command
 * it points at ("chain", "expression #3 (lookup)"). nf_tables rarely sends
 * error text but usually sends this offset.
 * @module
 */
import { Attributes } from '../netlink/parser';
import * as C from './constants';

const NAMES: Record<number, Record<number, string>> = {
  [C.NFT_MSG_NEWTABLE]: { 1: 'table name', 2: 'table flags', 4: 'table handle', 6: 'table userdata' },
  [C.NFT_MSG_DELTABLE]: { 1: 'table name', 4: 'table handle' },
  [C.NFT_MSG_NEWCHAIN]: { 1: 'table', 2: 'chain handle', 3: 'chain name', 4: 'hook', 5: 'policy', 7: 'chain type', 10: 'chain flags', 12: 'chain userdata' },
  [C.NFT_MSG_DELCHAIN]: { 1: 'table', 2: 'chain handle', 3: 'chain name' },
  [C.NFT_MSG_NEWRULE]: { 1: 'table', 2: 'chain', 3: 'rule handle', 4: 'expressions', 6: 'position', 7: 'rule userdata', 9: 'rule id', 10: 'position id' },
  [C.NFT_MSG_DELRULE]: { 1: 'table', 2: 'chain', 3: 'rule handle' },
  [C.NFT_MSG_NEWSET]: {
    1: 'table',
    2: 'set name',
    3: 'set flags',
    4: 'key type',
    5: 'key length',
    6: 'data type',
    7: 'data length',
    8: 'policy',
    9: 'set description',
    11: 'timeout',
    12: 'gc interval',
    13: 'set userdata',
    15: 'object type',
    17: 'set expression',
    18: 'set expressions',
  },
  [C.NFT_MSG_DELSET]: { 1: 'table', 2: 'set name' },
  [C.NFT_MSG_NEWSETELEM]: { 1: 'table', 2: 'set', 3: 'elements', 4: 'set id' },
  [C.NFT_MSG_DELSETELEM]: { 1: 'table', 2: 'set', 3: 'elements' },
  [C.NFT_MSG_NEWOBJ]: { 1: 'table', 2: 'object name', 3: 'object type', 4: 'object data', 8: 'object userdata' },
  [C.NFT_MSG_DELOBJ]: { 1: 'table', 2: 'object name', 3: 'object type' },
};

/**
 * Describes the attribute at `offset` (from the start of the message at
 * `msgStart` in `batch`); undefined when the offset does not land on one.
 */
export function describeErrorOffset(batch: Buffer, msgStart: number, offset: number): string | undefined {
  if (msgStart + 16 > batch.length) return undefined;
  const msgLen = batch.readUInt32LE(msgStart);
  const cmd = batch.readUInt16LE(msgStart + 4) & 0xff;
  const attrsStart = msgStart + 16 + C.NFGENMSG_LEN;
  const target = msgStart + offset;
  if (target < attrsStart || target >= msgStart + msgLen) return undefined;
  let off = attrsStart;
  while (off + 4 <= msgStart + msgLen) {
    const len = batch.readUInt16LE(off);
    const type = batch.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4) return undefined;
    if (target >= off && target < off + len) {
      const known = (NAMES[cmd] as Partial<Record<number, string>> | undefined)?.[type];
      const name = known ?? `attribute ${type}`;
      if (target === off) return name;
      // Inside a nested list: name the element (the expression of a rule, the element of a set).
      if ((cmd === C.NFT_MSG_NEWRULE && type === C.NFTA_RULE_EXPRESSIONS) || type === C.NFTA_SET_ELEM_LIST_ELEMENTS) {
        const inner = new Attributes(batch, off + 4, off + len).list;
        let p = off + 4;
        for (let i = 0; i < inner.length; i++) {
          const l = (inner[i].data.length + 4 + 3) & ~3;
          if (target >= p && target < p + l) {
            if (cmd !== C.NFT_MSG_NEWRULE) return `element #${i}`;
            const exprName = new Attributes(inner[i].data).string(C.NFTA_EXPR_NAME);
            return `expression #${i}${exprName ? ` (${exprName})` : ''}`;
          }
          p += l;
        }
      }
      return name;
    }
    off += (len + 3) & ~3;
  }
  return undefined;
}
