/**
 * Echoes of a commit: which created objects the kernel sends back
 * (NLM_F_ECHO) so their handles can be returned, kept within the receive
 * buffer's budget, and the per-command results read from the replies
 * (handles at once, objects decoded when first read).
 * @module
 */
import { NLM_F_ECHO } from '../netlink/constants';
import { ValidationError } from '../netlink/errors';
import type { NetlinkMessage } from '../netlink/parser';
import { seqIndex } from '../netlink/sequence';
import { decodeChain } from './chain';
import * as C from './constants';
import { decodeGeneration } from './list';
import { messageAttributes, nftCommand } from './message';
import { decodeObject } from './object';
import { decodeRule } from './rule';
import { decodeSet } from './set';
import { decodeTable } from './table';
import type { CommandResult, CommitResult, EchoMode } from './transaction-options';

/** The kind of object a NEW command creates (its primary message is the one echoed). */
export type EchoKind = 'table' | 'chain' | 'rule' | 'set' | 'object';

/**
 * Sets NLM_F_ECHO on the primary messages (message index → command) chosen
 * by the echo mode within `budgetBytes`, and clears it on the others (a
 * transaction's buffer may hold the flags of an earlier commit); returns
 * whether rules are echoed.
 */
export function markEchoes(
  buf: Buffer,
  offsets: number[],
  primary: Map<number, number>,
  kindOf: (command: number) => EchoKind | undefined,
  mode: EchoMode,
  budgetBytes: number,
): boolean {
  let objectBytes = 0;
  let ruleBytes = 0;
  if (mode !== 'none') {
    for (const [m, cmd] of primary) {
      const len = buf.readUInt32LE(offsets[m]);
      if (kindOf(cmd) === 'rule') ruleBytes += len;
      else objectBytes += len;
    }
  }
  let rules = mode !== 'objects' && mode !== 'none' && objectBytes + ruleBytes <= budgetBytes;
  if (mode === 'all' && !rules) {
    throw new ValidationError(
      'echo',
      mode,
      `echoing ${objectBytes + ruleBytes} bytes would overflow the receive buffer; use echo "auto" or a larger receiveBufferBytes`,
    );
  }
  const objects = mode !== 'none' && objectBytes <= budgetBytes;
  if (!objects) rules = false;
  for (const [m, cmd] of primary) {
    const isRule = kindOf(cmd) === 'rule';
    const flags = buf.readUInt16LE(offsets[m] + 6);
    buf.writeUInt16LE((isRule ? rules : objects) ? flags | NLM_F_ECHO : flags & ~NLM_F_ECHO, offsets[m] + 6);
  }
  return rules;
}

/**
 * The commit's result from the kernel's replies: the new generation, and per
 * command (described by `descriptions`) the echoed handle and object.
 */
export function collectResults(
  replies: NetlinkMessage[],
  built: { buffer: Buffer; primary: Map<number, number>; echoRules: boolean },
  descriptions: string[],
): CommitResult {
  const firstSeq = built.buffer.readUInt32LE(8);
  const results: CommandResult[] = descriptions.map((description) => ({ description }));
  const out: CommitResult = { results, rulesEchoed: built.echoRules };
  for (const m of replies) {
    const msgIndex = seqIndex(m.seq, firstSeq);
    const cmd = nftCommand(m);
    if (cmd === C.NFT_MSG_NEWGEN) {
      out.generation = decodeGeneration(m).id;
      continue;
    }
    const i = built.primary.get(msgIndex);
    if (i === undefined) continue;
    const handleAttr = ECHO_HANDLES.get(cmd);
    if (handleAttr === undefined) continue;
    // The handle now (what callers want); the object decoded when first read:
    // decoding 1,000 echoed rules would cost more than committing them.
    const handle = messageAttributes(m).be64(handleAttr);
    if (handle !== undefined) results[i].handle = Number(handle);
    defineEchoedObject(results[i], cmd, m);
  }
  return out;
}

/** Echoed NEW messages and the attribute holding the created object's handle. */
const ECHO_HANDLES = new Map<number, number>([
  [C.NFT_MSG_NEWTABLE, C.NFTA_TABLE_HANDLE],
  [C.NFT_MSG_NEWCHAIN, C.NFTA_CHAIN_HANDLE],
  [C.NFT_MSG_NEWRULE, C.NFTA_RULE_HANDLE],
  [C.NFT_MSG_NEWSET, C.NFTA_SET_HANDLE],
  [C.NFT_MSG_NEWOBJ, C.NFTA_OBJ_HANDLE],
]);

/**
 * `result.object`, decoded from the echo on first read (then a plain
 * property). Until then the result keeps the echoed message, a view of the
 * received bytes.
 */
function defineEchoedObject(result: CommandResult, cmd: number, m: NetlinkMessage): void {
  Object.defineProperty(result, 'object', {
    configurable: true,
    enumerable: true,
    get(this: CommandResult) {
      const value = decodeEcho(cmd, m);
      Object.defineProperty(this, 'object', { value, writable: true, enumerable: true, configurable: true });
      return value;
    },
    set(this: CommandResult, value: CommandResult['object']) {
      Object.defineProperty(this, 'object', { value, writable: true, enumerable: true, configurable: true });
    },
  });
}

function decodeEcho(cmd: number, m: NetlinkMessage): CommandResult['object'] | undefined {
  switch (cmd) {
    case C.NFT_MSG_NEWTABLE:
      return decodeTable(m);
    case C.NFT_MSG_NEWCHAIN:
      return decodeChain(m);
    case C.NFT_MSG_NEWRULE:
      return decodeRule(m);
    case C.NFT_MSG_NEWSET:
      return decodeSet(m);
    case C.NFT_MSG_NEWOBJ:
      return decodeObject(m);
    default:
      return undefined;
  }
}
