// Names and comments with a newline (or nft syntax) never reach the kernel:
// the transaction refuses them when the command is added, the ruleset
// generation does not move, and a saved `nft list ruleset` stays exactly what
// was committed — no injected line that `nft -c -f` would accept.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ValidationError, rule } from '../../lib';
import { nft } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

describe('nftables names with control characters', () => {
  const box = useNetns('names');
  const ns = () => box.ns('names');
  const h = () => box.h('names');

  it('a newline in any name or comment is refused before anything is sent', async () => {
    const base = h().nft.transaction();
    base.addTable({ family: 'inet', name: 'safe' });
    base.addChain({ family: 'inet', table: 'safe', name: 'c' });
    await base.commit();
    const gen = (await h().nft.generation.get()).id;
    const saved = nft(ns(), 'list', 'ruleset');

    const injection = 'x\n}\ntable inet evil {\n  chain in { type filter hook input priority 0; policy drop; }';
    const attempts: Array<(tx: ReturnType<ReturnType<typeof h>['nft']['transaction']>) => unknown> = [
      (tx) => tx.addTable({ family: 'inet', name: injection }),
      (tx) => tx.addChain({ family: 'inet', table: 'safe', name: injection }),
      (tx) => tx.addSet({ family: 'inet', table: 'safe', name: injection, keyType: 'ipv4_addr' }),
      (tx) => tx.addObject({ family: 'inet', table: 'safe', name: injection, type: 'counter' }),
      (tx) => tx.addTable({ family: 'inet', name: 'safe', comment: injection }),
      (tx) => tx.addRule({ family: 'inet', table: 'safe', chain: 'c', rule: rule().accept().comment(injection) }),
      (tx) => tx.addRule({ family: 'inet', table: 'safe', chain: 'c', rule: rule().log({ prefix: injection }) }),
      (tx) => tx.addRule({ family: 'inet', table: 'safe', chain: 'c', rule: rule().jump(injection) }),
      (tx) => tx.addRule({ family: 'inet', table: 'safe', chain: 'c', rule: rule().iifname('e\n0').accept() }),
      (tx) => tx.addRule({ family: 'inet', table: 'safe', chain: 'c', rule: rule().accept(), comment: 'x"; flush ruleset; "' }),
      (tx) => tx.addTable({ family: 'inet', name: 'a b' }),
    ];
    const tx = h().nft.transaction();
    tx.addChain({ family: 'inet', table: 'safe', name: 'other' }); // a valid command in the same transaction
    for (const attempt of attempts) expect(() => attempt(tx)).toThrow(ValidationError);
    expect(tx.describe()).toEqual(['add chain inet safe other']);
    // Committing what was accepted sends nothing of the refused commands.
    await tx.commit();

    expect((await h().nft.generation.get()).id).toBe(gen + 1);
    const now = nft(ns(), 'list', 'ruleset');
    expect(now).not.toMatch(/evil|flush ruleset|a b/);
    expect(now.replace(/\n\n\tchain other \{\n\t\}\n/, '\n')).toBe(saved);
    // The saved ruleset still loads, and defines only what was committed.
    execFileSync('ip', ['netns', 'exec', ns(), 'nft', '-c', '-f', '-'], { input: `flush ruleset\n${now}` });
    const names = (await h().nft.tables.list()).map((t) => t.name);
    expect(names).toEqual(['safe']);
    expect((await h().nft.chains.list({ table: 'safe' })).map((c) => c.name).sort()).toEqual(['c', 'other']);
  });
});
