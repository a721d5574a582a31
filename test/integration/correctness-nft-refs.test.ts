// References given to delete, flush and rename calls, and raw expression
// objects (a rule's, a set's, an element's), used to be taken with any keys:
// `{ hanlde: 7 }` given to deleteRule sent no handle, and the kernel deleted
// every rule of the chain; `{ chain: 'c' }` for flushChain's `name` flushed
// the whole table; a misspelt field of a `nat` expression was dropped. Each is
// refused when the command is added, naming the key, so nothing reaches the
// kernel (read back with `nft -j list ruleset`); so is `iif(0)`, which used to
// become a rule that never matches. A ruleset nft wrote, listed with
// `h.nft.ruleset.get()`, is still written back as it came.
import { describe, expect, it } from 'vitest';
import { ValidationError, rule } from '../../lib';
import { nftJson, nftLoad, nftRuleLines } from '../helpers/nft';
import { useNetns } from '../helpers/netns';
import { queueListedRuleset, rulesetWithoutHandles } from '../helpers/nft-write-back';

/** The ValidationError `fn` throws. */
function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('not refused');
}

const RULESET = `
table inet r {
  counter hits { packets 5 bytes 300 }
  quota q { over 100 mbytes used 10 kbytes }
  set allowed { type ipv4_addr; flags interval, timeout; counter; elements = { 10.0.0.0/8, 192.0.2.7 timeout 1h } }
  set flows { type ipv4_addr; size 1024; flags dynamic; }
  map ports { type inet_service : verdict; elements = { 22 : accept, 80 : jump web } }
  chain web {
    tcp dport 80 counter accept
  }
  chain input {
    type filter hook input priority 0; policy accept;
    iif "lo" accept
    ip saddr @allowed ct state established,related accept
    tcp dport vmap @ports
    update @flows { ip saddr limit rate 10/second counter }
    ip daddr 192.0.2.0/24 meta mark set 0x10 counter name "hits" log prefix "in " level info
    meta l4proto udp udp dport 1000-2000 limit rate over 5/minute burst 10 packets reject with icmpx admin-prohibited
    ip6 nexthdr tcp tcp flags & (syn | ack) == syn quota name "q" drop
  }
  chain post {
    type nat hook postrouting priority srcnat;
    ip saddr 10.88.0.0/16 oifname != "cni0" masquerade random
    ip daddr 192.0.2.1 tcp dport 8080 snat ip to 198.51.100.1:1000-2000 persistent
    ip6 saddr ::1 tcp dport 80 snat ip6 to [::2]:8080
  }
}`;

describe('nftables references and raw expressions', () => {
  const box = useNetns('nftrefs');
  const ns = () => box.ns('nftrefs');
  const h = () => box.h('nftrefs');

  it('refuses a misspelt reference or expression field when the command is added: the ruleset is unchanged', async () => {
    nftLoad(ns(), RULESET);
    const before = JSON.stringify(nftJson(ns()));
    const rules = nftRuleLines(ns(), 'inet', 'r');
    expect(rules.length).toBeGreaterThan(5);
    const { rules: listed } = await h().nft.ruleset.get({ family: 'inet', table: 'r' });
    const first = listed.find((r) => r.chain === 'input');
    expect(first?.handle).toBeGreaterThan(0);

    const tx = h().nft.transaction();
    // Before: no handle sent, and the kernel deleted every rule of the chain.
    expect(refusal(() => tx.deleteRule({ family: 'inet', table: 'r', chain: 'input', hanlde: first?.handle } as never)).message).toContain('"hanlde"');
    // Before: no chain sent, and the kernel flushed every chain of the table.
    expect(refusal(() => tx.flushChain({ family: 'inet', table: 'r', chain: 'input' } as never)).message).toContain('"chain"');
    expect(refusal(() => tx.deleteSet({ family: 'inet', table: 'r', name: 'allowed', tabel: 'x' } as never, { missingOk: true })).message).toContain('"tabel"');
    const nat = [
      { type: 'immediate', dreg: 1, data: Buffer.from([198, 51, 100, 1]) },
      { type: 'nat', nat: 'snat', family: 'ip', regAdrMin: 1 },
    ];
    const natError = refusal(() => tx.addRule({ family: 'inet', table: 'r', chain: 'post', expressions: nat as never }));
    expect(natError.message).toContain('rule expressions[1] (nat expression)');
    expect(natError.message).toContain('"regAdrMin"');
    expect(refusal(() => tx.addRule({ family: 'inet', table: 'r', chain: 'input', rule: rule().iif(0).accept() })).message).toContain('meta iif');
    expect(tx.size).toBe(0);
    await tx.commit();
    expect(JSON.stringify(nftJson(ns()))).toBe(before);
    expect(nftRuleLines(ns(), 'inet', 'r')).toEqual(rules);

    const drop = h().nft.transaction();
    drop.deleteTable({ family: 'inet', name: 'r' });
    await drop.commit();
    expect(nftJson(ns())).toEqual([]);
  });

  it('writes a listed ruleset back as it came: raw expressions, set and element expressions, listed objects as references', async () => {
    nftLoad(ns(), RULESET);
    const before = rulesetWithoutHandles(ns(), ['expires']);
    const listed = await h().nft.ruleset.get({ family: 'inet', table: 'r' });
    expect(listed.rules.some((r) => r.expressions.some((e) => e.type === 'nat'))).toBe(true);
    expect(listed.rules.some((r) => r.expressions.some((e) => e.type === 'dynset' && e.expressions?.length))).toBe(true);

    // The listed objects serve as their own references.
    const drop = h().nft.transaction();
    for (const r of listed.rules) drop.deleteRule(r);
    for (const c of listed.chains) drop.flushChain(c);
    for (const table of listed.tables) drop.deleteTable(table);
    await drop.commit();
    expect(nftJson(ns())).toEqual([]);

    const again = h().nft.transaction();
    queueListedRuleset(again, listed);
    await again.commit();
    expect(rulesetWithoutHandles(ns(), ['expires'])).toBe(before);
  });
});
