// A listing whose dump the kernel flags interrupted (NLM_F_DUMP_INTR) is
// accepted only once two dumps in a row list the same objects; one that
// keeps changing ends in DumpInterruptedError, not a plain EINTR.
import { describe, expect, it } from 'vitest';
import { DumpInterruptedError } from '../../lib';
import { NLM_F_DUMP_INTR, NLM_F_MULTI } from '../../lib/netlink/constants';
import type { NetlinkCall } from '../../lib/netlink/operation';
import { parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import * as C from '../../lib/nftables/constants';
import { nftRuleOps } from '../../lib/nftables/list';
import { beginNft } from '../../lib/nftables/message';

/** A dump's replies: one NEWRULE per handle in table inet t, chain c; the first flagged if `interrupted`. */
function dumpOf(handles: number[], interrupted: boolean): NetlinkMessage[] {
  const w = new NetlinkWriter();
  handles.forEach((h, i) => {
    beginNft(w, C.NFT_MSG_NEWRULE, NLM_F_MULTI | (interrupted && i === 0 ? NLM_F_DUMP_INTR : 0), 1);
    w.string(C.NFTA_RULE_TABLE, 't').string(C.NFTA_RULE_CHAIN, 'c').be64(C.NFTA_RULE_HANDLE, h);
    w.end();
  });
  return parseMessages(w.finish());
}

/** Runs rules.list against scripted dumps; returns the handles listed and how many dumps it took. */
function listAgainst(dumps: NetlinkMessage[][]): { handles: number[]; dumps: number } {
  const op = nftRuleOps.list({ family: 'inet', table: 't' });
  let step = op.next();
  let n = 0;
  while (!step.done) {
    const c = step.value as NetlinkCall;
    expect(c.restartInterrupted).toBe(false);
    step = op.next(dumps[Math.min(n++, dumps.length - 1)]);
  }
  return { handles: step.value.map((r) => r.handle ?? -1), dumps: n };
}

describe('nftables listing of an interrupted dump', () => {
  it('takes a dump that was not interrupted at once', () => {
    expect(listAgainst([dumpOf([1, 2, 3], false)])).toEqual({ handles: [1, 2, 3], dumps: 1 });
  });

  it('takes the second of two interrupted dumps that list the same objects', () => {
    expect(listAgainst([dumpOf([1, 2, 3], true), dumpOf([1, 2, 3], true)])).toEqual({ handles: [1, 2, 3], dumps: 2 });
  });

  it('dumps again while the objects differ, and stops at the first clean or repeated dump', () => {
    const dumps = [dumpOf([1, 2, 3], true), dumpOf([1, 3, 4], true), dumpOf([1, 3, 4, 5], false)];
    expect(listAgainst(dumps)).toEqual({ handles: [1, 3, 4, 5], dumps: 3 });
  });

  it('gives up with DumpInterruptedError when the objects change under every dump', () => {
    const changing = Array.from({ length: 20 }, (_, i) => dumpOf([1, 2, 10 + i], true));
    expect(() => listAgainst(changing)).toThrow(DumpInterruptedError);
  });
});
