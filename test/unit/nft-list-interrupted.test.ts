// A listing whose dump the kernel flags interrupted (NLM_F_DUMP_INTR) is
// accepted only once two dumps in a row list the same objects; one that
// keeps changing ends in DumpInterruptedError, not a plain EINTR.
import { describe, expect, it } from 'vitest';
import { DumpInterruptedError } from '../../lib';
import { NLM_F_DUMP_INTR, NLM_F_MULTI } from '../../lib/netlink/constants';
import type { NetlinkCall } from '../../lib/netlink/operation';
import { Attributes, parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
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
  const op = nftRuleOps.list({ family: 'inet', table: 't', chain: 'c' });
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

  it('lists a table chain by chain: the chains first, then one rule dump per chain, in chain order', () => {
    const w = new NetlinkWriter();
    for (const name of ['a', 'b']) {
      beginNft(w, C.NFT_MSG_NEWCHAIN, NLM_F_MULTI, 1);
      w.string(C.NFTA_CHAIN_TABLE, 't').string(C.NFTA_CHAIN_NAME, name);
      w.end();
    }
    const chains = parseMessages(w.finish());
    const op = nftRuleOps.list({ family: 'inet', table: 't' });
    const requested: string[] = [];
    let step = op.next();
    const replies = [chains, dumpOf([1, 2], false), dumpOf([3], false)];
    for (const reply of replies) {
      const c = step.value as NetlinkCall;
      const attrs = new Attributes(c.message, 20);
      requested.push(`${c.message[4]}:${attrs.string(C.NFTA_RULE_TABLE) ?? ''}/${attrs.string(C.NFTA_RULE_CHAIN) ?? ''}`);
      step = op.next(reply);
    }
    expect(step.done).toBe(true);
    expect(requested).toEqual([`${C.NFT_MSG_GETCHAIN}:/`, `${C.NFT_MSG_GETRULE}:t/a`, `${C.NFT_MSG_GETRULE}:t/b`]);
    expect((step.value as Array<{ handle?: number }>).map((r) => r.handle)).toEqual([1, 2, 3]);
  });
});
