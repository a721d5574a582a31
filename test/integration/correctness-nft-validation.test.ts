// Values that used to wrap or reach the kernel (a mark of 2^32, chain type
// "mangle", a port mapping without a transport match, an oversized log
// prefix, ...) are refused when the command is added: committing what was
// accepted sends none of them, and the ruleset generation moves by exactly
// the one valid commit.
import { describe, expect, it } from 'vitest';
import { ValidationError, rule } from '../../lib';
import { nft } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

describe('nftables values out of range', () => {
  const box = useNetns('nftval');
  const ns = () => box.ns('nftval');
  const h = () => box.h('nftval');

  it('are refused before anything is sent', async () => {
    const base = h().nft.transaction();
    base.addTable({ family: 'ip', name: 'v' });
    base.addChain({ family: 'ip', table: 'v', name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
    base.addChain({ family: 'ip', table: 'v', name: 'c' });
    await base.commit();
    const gen = (await h().nft.generation.get()).id;
    const saved = nft(ns(), 'list', 'ruleset');

    const c = { family: 'ip', table: 'v', chain: 'c' } as const;
    const attempts: Array<(tx: ReturnType<ReturnType<typeof h>['nft']['transaction']>) => unknown> = [
      (tx) => tx.addRule({ ...c, rule: rule().setMark(2 ** 32) }),
      (tx) => tx.addRule({ ...c, rule: rule().setCtMark(-1) }),
      (tx) => tx.addRule({ ...c, chain: 'pre', rule: rule().dnat({ to: '10.0.0.2', port: 80 }) }),
      (tx) => tx.addChain({ family: 'ip', table: 'v', name: 'm', type: 'mangle' as never, hook: 'output' }),
      (tx) => tx.addRule({ ...c, rule: rule().accept().comment('a\0b') }),
      (tx) => tx.addRule({ ...c, rule: rule().log({ prefix: 'p'.repeat(200) }) }),
      (tx) => tx.addRule({ ...c, rule: rule().log({ group: 70000 }) }),
      (tx) => tx.addRule({ ...c, rule: rule().jump('j'.repeat(300)) }),
      (tx) => tx.addRule({ ...c, rule: rule().reject({ with: 'icmp', code: 999 }) }),
      (tx) => tx.addRule({ ...c, expressions: [], userdata: Buffer.alloc(300) }),
      (tx) => tx.addSet({ family: 'ip', table: 'v', name: 's', keyType: 'ipv4_addr', flags: ['timeout'], timeout: -1 }),
      (tx) => tx.addObject({ family: 'ip', table: 'v', name: 'q', type: 'quota', bytes: -1n }),
    ];
    const tx = h().nft.transaction();
    tx.addChain({ family: 'ip', table: 'v', name: 'other' }); // a valid command in the same transaction
    for (const attempt of attempts) expect(() => attempt(tx)).toThrow(ValidationError);
    expect(tx.describe()).toEqual(['add chain ip v other']);
    await tx.commit();

    expect((await h().nft.generation.get()).id).toBe(gen + 1);
    const now = nft(ns(), 'list', 'ruleset');
    expect(now.replace(/\n\n\tchain other \{\n\t\}\n/, '\n')).toBe(saved);
    expect((await h().nft.rules.list({ family: 'ip', table: 'v' })).length).toBe(0);
  });
});
