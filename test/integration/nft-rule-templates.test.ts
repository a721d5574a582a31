// Rules written from rule-shape templates (lib/nftables/rule-templates.ts) committed to a real
// kernel: nft lists them with their own values, exactly as the same rules written the ordinary way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, not, open, rule, type Handle, type RuleBuilder } from '../../lib';
import { resetRuleTemplates, rulesFromTemplates } from '../../lib/nftables/rule-templates';
import { nftObjects } from '../helpers/nft';
import { requireRoot } from '../helpers/netns';

const NS = `fresh-commit-tpl-${process.pid}`;
const N = 60;
const v4 = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
const v6 = (i: number) => `fd00:${(i * 13).toString(16)}::${(i + 1).toString(16)}`;
const port = (i: number) => 10000 + i;

/** Per chain, the i-th rule of each shape committed to it. */
const SHAPES: Array<{ chain: string; make: (i: number) => RuleBuilder; comment?: (i: number) => string }> = [
  {
    chain: 'pre',
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .dnat({ to: v4(i), port: 80 }),
  },
  {
    chain: 'pre',
    make: (i) =>
      rule()
        .ip({ daddr: v4(i + 1) })
        .udp({ dport: port(i) })
        .dnat({ to: v4(i), port: port(i) }),
  },
  {
    chain: 'post',
    make: (i) =>
      rule()
        .ip({ saddr: v4(i) })
        .oifname(not('cni0'))
        .masquerade(),
  },
  {
    chain: 'post',
    make: (i) =>
      rule()
        .udp({ sport: port(i) })
        .snat({ to: v4(i), port: port(i), random: true }),
  },
  {
    chain: 'input',
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .counter()
        .accept(),
    comment: (i) => `svc-${String(i).padStart(4, '0')}`,
  },
  {
    chain: 'input',
    make: (i) =>
      rule()
        .iifname(`veth${i}`)
        .mark(i)
        .ct({ mark: i + 1 })
        .jump('svc'),
  },
  {
    chain: 'input',
    make: (i) =>
      rule()
        .ip6({ saddr: v6(i) })
        .tcp({ sport: port(i) })
        .drop(),
  },
  {
    chain: 'input',
    make: (i) =>
      rule()
        .ip({ saddr: '@allowed' })
        .tcp({ dport: port(i) })
        .counter({ name: 'hits' })
        .accept(),
  },
];

describe('rule-shape templates against the kernel', () => {
  let h: Handle;
  beforeAll(async () => {
    requireRoot();
    await createNetns(NS);
    h = await open({ netns: NS });
  });
  afterAll(async () => {
    resetRuleTemplates(true);
    h?.close();
    await deleteNetns(NS, { missingOk: true });
  });

  /** Commits table `name` with every shape's rules; templates on or off. */
  async function commit(name: string, templates: boolean): Promise<number> {
    resetRuleTemplates(templates);
    const before = rulesFromTemplates();
    const T = { family: 'inet', table: name } as const;
    const tx = h.nft.transaction();
    tx.addTable({ family: 'inet', name });
    tx.addChain({ ...T, name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
    tx.addChain({ ...T, name: 'post', type: 'nat', hook: 'postrouting', priority: 'srcnat' });
    tx.addChain({ ...T, name: 'input', type: 'filter', hook: 'input', priority: 'filter' });
    tx.addChain({ ...T, name: 'svc' });
    tx.addSet({ ...T, name: 'allowed', keyType: 'ipv4_addr' }, [{ key: '10.0.0.1' }]);
    tx.addObject({ ...T, name: 'hits', type: 'counter' });
    for (let i = 0; i < N; i++) for (const s of SHAPES) tx.addRule({ ...T, chain: s.chain, rule: s.make(i), comment: s.comment?.(i) });
    await tx.commit({ echo: 'none' });
    return rulesFromTemplates() - before;
  }

  /** The rules of a table as nft lists them, without what differs between two tables (name, handles). */
  function listed(table: string): unknown[] {
    return nftObjects(NS, 'rule', table).map(({ table: _t, handle: _h, ...r }) => r);
  }

  it('lists templated rules with their own values, as the same rules written the ordinary way', async () => {
    expect(await commit('plain', false)).toBe(0);
    const used = await commit('tpl', true);
    expect(used).toBeGreaterThanOrEqual((N - 2) * SHAPES.length);
    const tpl = listed('tpl');
    expect(tpl).toHaveLength(N * SHAPES.length);
    expect(tpl).toEqual(listed('plain'));
    // Values read back, not only equal to the other table: the last rules of a few shapes.
    const i = N - 1;
    const byChain = (c: string) => tpl.filter((r) => (r as { chain: string }).chain === c) as Array<{ expr: unknown[]; comment?: string }>;
    expect(byChain('pre')[2 * i].expr).toEqual([
      { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: port(i) } },
      { dnat: { family: 'ip', addr: v4(i), port: 80 } },
    ]);
    expect(byChain('input')[4 * i]).toMatchObject({ comment: `svc-${String(i).padStart(4, '0')}` });
    expect(JSON.stringify(byChain('input')[4 * i + 1].expr)).toContain(`"veth${i}"`);
    expect(JSON.stringify(byChain('input')[4 * i + 2].expr)).toContain(`"${v6(i)}"`);
    expect(JSON.stringify(byChain('post')[2 * i].expr)).toContain(`"${v4(i)}"`);
  });
});
