// Rules of one shape are written from a template (lib/nftables/rule-templates.ts): the bytes of an
// earlier rule with the values patched in. Every batch must be byte for byte the one the ordinary
// path writes, whatever the values, for every shape; shapes a template cannot describe (inline sets,
// masks, unusual values) must go the ordinary way, and a bad value must fail as it always did.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError, not, rule, type RuleBuilder } from '../../lib';
import type { NftFamily } from '../../lib/nftables/message';
import { resetRuleTemplates, ruleTemplateScopes, rulesFromTemplates } from '../../lib/nftables/rule-templates';
import { Transaction } from '../../lib/nftables/transaction';

interface Case {
  name: string;
  family: NftFamily;
  /** The i-th rule of the case (values vary with i). */
  make(i: number): RuleBuilder;
  /** Rules written from a template are expected (false: shapes that always go the ordinary way). */
  templated?: boolean;
  comment?: (i: number) => string | undefined;
  insert?: boolean;
}

const v4 = (i: number) => `${(i * 37) & 255}.${(i * 11 + 1) & 255}.${i & 255}.${255 - (i & 255)}`;
const v6 = (i: number) => `fd00:${(i * 13).toString(16)}::${(i + 1).toString(16)}`;
const port = (i: number) => (i * 1009) % 65536;
const ifname = (i: number) => `veth${i.toString(36)}${'x'.repeat(i % 5)}`;

const CASES: Case[] = [
  {
    name: 'dnat to address and port',
    family: 'ip',
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .dnat({ to: v4(i), port: port(i + 7) }),
  },
  {
    name: 'dnat without port, udp sport',
    family: 'ip',
    make: (i) =>
      rule()
        .udp({ sport: port(i) })
        .dnat({ to: v4(i) }),
  },
  {
    name: 'snat from a source address',
    family: 'ip',
    make: (i) =>
      rule()
        .ip({ saddr: v4(i) })
        .snat({ to: v4(i + 1) }),
  },
  {
    name: 'snat with flags',
    family: 'ip',
    make: (i) =>
      rule()
        .ip({ daddr: v4(i) })
        .tcp({ sport: port(i) })
        .snat({ to: v4(i), port: port(i), random: true, persistent: true }),
  },
  {
    name: 'inet: ip daddr, tcp dport, dnat',
    family: 'inet',
    make: (i) =>
      rule()
        .ip({ daddr: v4(i) })
        .tcp({ dport: port(i) })
        .dnat({ to: v4(i + 3), port: 80 }),
  },
  {
    name: 'inet: dnat to IPv6',
    family: 'inet',
    make: (i) =>
      rule()
        .ip6({ daddr: v6(i) })
        .tcp({ dport: port(i) })
        .dnat({ to: v6(i + 1), port: port(i) }),
  },
  {
    name: 'ip6: saddr and daddr',
    family: 'ip6',
    make: (i) =>
      rule()
        .ip6({ saddr: v6(i), daddr: not(v6(i + 2)) })
        .drop(),
  },
  {
    name: 'negated IPv4 and counter',
    family: 'ip',
    make: (i) =>
      rule()
        .ip({ saddr: not(v4(i)) })
        .counter()
        .accept(),
  },
  {
    name: 'masquerade',
    family: 'ip',
    make: (i) =>
      rule()
        .ip({ saddr: v4(i) })
        .oifname(not('cni0'))
        .masquerade(),
  },
  {
    name: 'masquerade to a port, fully random',
    family: 'ip',
    make: (i) =>
      rule()
        .udp({ sport: port(i) })
        .masquerade({ port: port(i), fullyRandom: true }),
  },
  {
    name: 'redirect to a port',
    family: 'inet',
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .redirect({ port: port(i + 1) }),
  },
  {
    name: 'interface names',
    family: 'inet',
    make: (i) =>
      rule()
        .iifname(ifname(i))
        .oifname(ifname(i + 1))
        .accept(),
  },
  {
    name: 'marks',
    family: 'inet',
    make: (i) =>
      rule()
        .mark((i * 0x01010101) >>> 0)
        .ct({ mark: (0xffffffff - i) >>> 0 })
        .return(),
  },
  {
    name: 'named counter and jump',
    family: 'inet',
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .counter({ name: 'hits' })
        .jump('svc'),
  },
  {
    name: 'goto and continue',
    family: 'inet',
    make: (i) =>
      i % 2
        ? rule()
            .udp({ dport: port(i) })
            .goto('svc')
        : rule()
            .udp({ dport: port(i) })
            .continue(),
  },
  {
    name: 'lookup of a named set',
    family: 'inet',
    make: (i) =>
      rule()
        .ip({ saddr: '@allowed' })
        .tcp({ dport: port(i) })
        .accept(),
  },
  {
    name: 'constant port range, protocol',
    family: 'inet',
    make: (i) =>
      rule()
        .protocol('udp')
        .th({ dport: '8000-8100' })
        .ip({ saddr: v4(i) })
        .drop(),
  },
  {
    name: 'port range and prefix as constants that vary (a shape each)',
    family: 'ip',
    make: (i) =>
      rule()
        .tcp({ dport: `${i}-${i + 10}` })
        .ip({ saddr: `10.${i}.0.0/16` })
        .accept(),
  },
  {
    name: 'comments of one length',
    family: 'inet',
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .accept()
        .comment(`svc-${String(i).padStart(4, '0')}`),
  },
  {
    name: 'comments of varying lengths',
    family: 'inet',
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .accept(),
    comment: (i) => `backend ${i}`,
  },
  {
    name: 'a non-ASCII comment (a constant)',
    family: 'inet',
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .accept(),
    comment: () => 'café',
  },
  {
    name: 'inserted rules',
    family: 'inet',
    insert: true,
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .ip({ saddr: v4(i) })
        .drop(),
  },
  {
    name: 'edge values',
    family: 'ip',
    make: (i) =>
      rule()
        .tcp({ dport: [0, 65535, 1][i % 3] })
        .ip({ saddr: ['0.0.0.0', '255.255.255.255', '1.2.3.4'][i % 3] })
        .mark([0, 0xffffffff, 7][i % 3])
        .accept(),
  },
  // Shapes that differ from one above in one thing only (negation, flags, statement, protocol, comment, placement).
  {
    name: 'IPv4 (not negated) and counter',
    family: 'ip',
    make: (i) =>
      rule()
        .ip({ saddr: v4(i) })
        .counter()
        .accept(),
  },
  {
    name: 'snat without flags',
    family: 'ip',
    make: (i) =>
      rule()
        .ip({ daddr: v4(i) })
        .tcp({ sport: port(i) })
        .snat({ to: v4(i), port: port(i) }),
  },
  {
    name: 'snat, random only',
    family: 'ip',
    make: (i) =>
      rule()
        .ip({ daddr: v4(i) })
        .tcp({ sport: port(i) })
        .snat({ to: v4(i), port: port(i), random: true }),
  },
  {
    name: 'dnat where snat was',
    family: 'ip',
    make: (i) =>
      rule()
        .ip({ daddr: v4(i) })
        .tcp({ sport: port(i) })
        .dnat({ to: v4(i), port: port(i) }),
  },
  {
    name: 'masquerade to a port, random',
    family: 'ip',
    make: (i) =>
      rule()
        .udp({ sport: port(i) })
        .masquerade({ port: port(i), random: true }),
  },
  {
    name: 'udp where tcp was',
    family: 'ip',
    make: (i) =>
      rule()
        .udp({ dport: port(i) })
        .dnat({ to: v4(i), port: port(i + 7) }),
  },
  {
    name: 'goto where jump was',
    family: 'inet',
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .counter({ name: 'hits' })
        .goto('svc'),
  },
  {
    name: 'oifname where iifname was',
    family: 'inet',
    make: (i) =>
      rule()
        .oifname(ifname(i))
        .oifname(ifname(i + 1))
        .accept(),
  },
  {
    name: 'without the comment',
    family: 'inet',
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .accept(),
  },
  {
    name: 'appended where inserted',
    family: 'inet',
    make: (i) =>
      rule()
        .tcp({ dport: port(i) })
        .ip({ saddr: v4(i) })
        .drop(),
  },
  {
    name: 'ip6 daddr not negated',
    family: 'ip6',
    make: (i) =>
      rule()
        .ip6({ saddr: v6(i), daddr: v6(i + 2) })
        .drop(),
  },
  // Shapes without a template: inline sets, masks, raw expressions, mark updates.
  {
    name: 'port sets (inline sets)',
    family: 'inet',
    templated: false,
    make: (i) =>
      rule()
        .tcp({ dport: [port(i), port(i + 1)] })
        .accept(),
  },
  {
    name: 'masked marks',
    family: 'inet',
    templated: false,
    make: (i) =>
      rule()
        .mark({ mask: 0xff00, value: (i << 8) & 0xff00 })
        .setMark(i)
        .accept(),
  },
  {
    name: 'raw expressions',
    family: 'inet',
    templated: false,
    make: (i) =>
      rule()
        .expressions({ type: 'counter' })
        .tcp({ dport: port(i) })
        .accept(),
  },
];

const N = 40;

/** The batch of a case's rules (interleaved with another shape, so templates are looked up between shapes). */
function batch(c: Case): Buffer {
  const tx = new Transaction();
  for (let i = 0; i < N; i++) {
    const r = { family: c.family, table: 't', chain: 'c', rule: c.make(i), comment: c.comment?.(i) };
    if (c.insert) tx.insertRule(r);
    else tx.addRule(r);
    if (i % 7 === 3)
      tx.addRule({
        family: c.family,
        table: 't',
        chain: 'other',
        rule: rule()
          .tcp({ dport: port(i) })
          .accept(),
      });
  }
  return tx.encode();
}

describe('rule-shape templates', () => {
  beforeEach(() => resetRuleTemplates(true));
  afterAll(() => resetRuleTemplates(true));

  for (const c of CASES) {
    it(`writes the ordinary bytes: ${c.name}`, () => {
      resetRuleTemplates(false);
      const ordinary = batch(c);
      resetRuleTemplates(true);
      const before = rulesFromTemplates();
      const fast = batch(c);
      const used = rulesFromTemplates() - before;
      expect(fast.equals(ordinary)).toBe(true);
      // The interleaved `tcp dport accept` rules are templated too; the case's own rules from the third on.
      const interleaved = Math.max(0, Math.ceil((N - 3) / 7) - 2);
      if (c.templated === false) expect(used).toBe(interleaved);
      else if (!c.name.includes('a shape each')) expect(used).toBeGreaterThanOrEqual(N - 2);
      // Once more, every template already made: the same bytes.
      expect(batch(c).equals(ordinary)).toBe(true);
    });
  }

  it('keeps every shape apart: all cases interleaved in one transaction, templates made by earlier cases kept', () => {
    const all = (): Buffer => {
      const tx = new Transaction();
      for (let i = 0; i < N; i++)
        for (const c of CASES) {
          const r = { family: c.family, table: 't', chain: 'c', rule: c.make(i), comment: c.comment?.(i) };
          if (c.insert) tx.insertRule(r);
          else tx.addRule(r);
        }
      return tx.encode();
    };
    resetRuleTemplates(false);
    const ordinary = all();
    resetRuleTemplates(true);
    const before = rulesFromTemplates();
    expect(all().equals(ordinary)).toBe(true);
    expect(rulesFromTemplates() - before).toBeGreaterThan(N * (CASES.length - 6));
  });

  it('a bad value in a rule of a templated shape fails as on the ordinary path, and the transaction stays usable', () => {
    const tx = new Transaction();
    const T = { family: 'ip', table: 't', chain: 'c' } as const;
    for (let i = 0; i < 5; i++)
      tx.addRule({
        ...T,
        rule: rule()
          .tcp({ dport: 1000 + i })
          .dnat({ to: v4(i), port: 80 }),
      });
    const bad = [
      () => rule().tcp({ dport: 70000 }).dnat({ to: '10.0.0.1', port: 80 }),
      () => rule().tcp({ dport: 1.5 }).dnat({ to: '10.0.0.1', port: 80 }),
      () => rule().tcp({ dport: 80 }).dnat({ to: '10.0.0.256', port: 80 }),
      () => rule().tcp({ dport: 80 }).dnat({ to: '010.0.0.1', port: 80 }),
      () => rule().tcp({ dport: 80 }).dnat({ to: '10.0.0.1', port: -1 }),
    ];
    for (const b of bad) {
      resetRuleTemplates(false);
      const ordinary = (() => {
        try {
          new Transaction().addRule({ ...T, rule: b() });
        } catch (e) {
          return e;
        }
      })();
      expect(ordinary).toBeInstanceOf(ValidationError);
      resetRuleTemplates(true);
      expect(() => tx.addRule({ ...T, rule: b() })).toThrow((ordinary as Error).message);
    }
    tx.addRule({ ...T, rule: rule().tcp({ dport: 9 }).dnat({ to: '10.0.0.9', port: 80 }) });
    expect(tx.size).toBe(6);
    const fast = tx.encode();
    resetRuleTemplates(false);
    const tx2 = new Transaction();
    for (let i = 0; i < 5; i++)
      tx2.addRule({
        ...T,
        rule: rule()
          .tcp({ dport: 1000 + i })
          .dnat({ to: v4(i), port: 80 }),
      });
    tx2.addRule({ ...T, rule: rule().tcp({ dport: 9 }).dnat({ to: '10.0.0.9', port: 80 }) });
    expect(fast.equals(tx2.encode())).toBe(true);
  });

  it('a verdict object changed after verdict() took it: the same bytes with and without templates', () => {
    // The shape key holds the chain verdict() was given; the rule must too (not the object's later value).
    const T = { family: 'inet', table: 't', chain: 'c' } as const;
    const make = (templates: boolean, change: boolean) => {
      resetRuleTemplates(templates);
      const tx = new Transaction();
      const v = { jump: 'a' };
      for (let i = 0; i < 3; i++)
        tx.addRule({
          ...T,
          rule: rule()
            .tcp({ dport: i + 1 })
            .verdict(v),
        });
      const b = rule().tcp({ dport: 9 }).verdict(v);
      if (change) v.jump = 'b';
      tx.addRule({ ...T, rule: b });
      return tx.encode();
    };
    // Both ways the fourth rule jumps to the chain it was given when verdict() was called.
    const unchanged = make(false, false);
    expect(make(true, true).equals(unchanged)).toBe(true);
    expect(make(false, true).equals(unchanged)).toBe(true);
  });

  it('NAT options changed after dnat()/masquerade() took them: the same bytes with and without templates', () => {
    // natStep copies the options once; a step run later (encoding, making a template) must not see later writes.
    const T = { family: 'ip', table: 't', chain: 'c' } as const;
    const make = (templates: boolean, change: boolean) => {
      resetRuleTemplates(templates);
      const tx = new Transaction();
      const build = (i: number, d: { to: string; port: number; random?: boolean }, m: { port?: number; persistent?: boolean }) =>
        rule()
          .tcp({ dport: i + 1 })
          .dnat(d)
          .masquerade(m);
      for (let i = 0; i < 3; i++) tx.addRule({ ...T, rule: build(i, { to: v4(i), port: 80 }, { port: 1000 + i }) });
      const d: { to: string; port: number; random?: boolean } = { to: '10.1.2.3', port: 8080 };
      const m: { port?: number; persistent?: boolean } = { port: 2000 };
      const b = build(9, d, m);
      if (change) {
        d.to = '10.9.9.9';
        d.port = 1;
        d.random = true;
        m.port = 3;
        m.persistent = true;
      }
      tx.addRule({ ...T, rule: b });
      return tx.encode();
    };
    const unchanged = make(false, false);
    expect(make(true, true).equals(unchanged)).toBe(true);
    expect(make(false, true).equals(unchanged)).toBe(true);
  });

  it('a not() value changed after the builder took it: the same bytes with and without templates', () => {
    // JavaScript callers can write a Negated's value; the key holds the one given to match()/protocol().
    const T = { family: 'inet', table: 't', chain: 'c' } as const;
    const make = (templates: boolean, change: boolean) => {
      resetRuleTemplates(templates);
      const tx = new Transaction();
      const proto = not('udp');
      const name = not('veth*');
      const build = () => rule().protocol(proto).match('meta oifname', name).accept();
      for (let i = 0; i < 3; i++) tx.addRule({ ...T, rule: build() });
      const b = build();
      if (change) {
        (proto as { value: string }).value = 'tcp';
        (name as { value: string }).value = 'eth*';
      }
      tx.addRule({ ...T, rule: b });
      return tx.encode();
    };
    const unchanged = make(false, false);
    expect(make(true, true).equals(unchanged)).toBe(true);
    expect(make(false, true).equals(unchanged)).toBe(true);
  });

  it('a builder changed after it was added makes its own shape', () => {
    const T = { family: 'inet', table: 't', chain: 'c' } as const;
    const make = (templates: boolean) => {
      resetRuleTemplates(templates);
      const tx = new Transaction();
      const b = rule().tcp({ dport: 1 });
      tx.addRule({ ...T, rule: b });
      tx.addRule({ ...T, rule: b });
      tx.addRule({ ...T, rule: b });
      b.accept();
      tx.addRule({ ...T, rule: b });
      b.counter();
      tx.addRule({ ...T, rule: b });
      return tx.encode();
    };
    expect(make(true).equals(make(false))).toBe(true);
  });

  it("a NAT step's key part made once is the one the general path makes, for every kind, address, port and flags", () => {
    // family 'ip' takes the general path (its key has the family's literal where the other has 'u').
    const kinds = ['snat', 'dnat', 'masquerade', 'redirect'] as const;
    const tos = [{ to: '10.0.0.1' }, { to: 'fd00::1' }, {}];
    const ports = [{ port: 80 }, {}];
    const flagSets = [{}, { random: true }, { fullyRandom: true, persistent: true }, { random: true, fullyRandom: true, persistent: true }];
    let compared = 0;
    for (const kind of kinds)
      for (const to of kind === 'snat' || kind === 'dnat' ? tos : [{}])
        for (const port of ports)
          for (const flags of flagSets) {
            const o = { ...to, ...port, ...flags };
            const usual = rule()[kind](o).shapeKey;
            const general = kind === 'snat' || kind === 'dnat' ? rule()[kind]({ ...o, family: 'ip' }).shapeKey : undefined;
            const expected = `N${kind === 'masquerade' ? 'masq' : kind === 'redirect' ? 'redir' : kind}${'to' in o ? (o.to.includes(':') ? '$6' : '$4') : 'u'}${'port' in o ? '$P' : 'u'}u${(o.random ? 4 : 0) | (o.fullyRandom ? 2 : 0) | (o.persistent ? 1 : 0)};`;
            expect(usual).toBe(expected);
            // The same key twice is the same string (joined once).
            expect(rule()[kind](o).shapeKey).toBe(usual);
            if (general !== undefined) expect(general).toBe(expected.replace(/u(\d);$/, 's2:ip$1;'));
            compared++;
          }
    expect(compared).toBe(2 * 3 * 2 * 4 + 2 * 2 * 4);
  });

  it('shape keys joined step by step stay the same strings after the join map was cleared (keys that never repeat)', () => {
    const b = rule().tcp({ dport: 1 }).dnat({ to: '10.0.0.1', port: 80 });
    const key = b.shapeKey;
    expect(key).toBe('m9:tcp dport$P;Ndnat$4$Pu0;');
    // Named sets are constants in the key: 5,000 of them overflow the join map (4,096 keys) at least once (under the known prefix "").
    for (let i = 0; i < 5000; i++) rule().match('ip saddr', `@set${i}`);
    expect(rule().tcp({ dport: 2 }).dnat({ to: '10.0.0.2', port: 80 }).shapeKey).toBe(key);
    // And templates still find the shape: rules 3 on are written from it, as before.
    resetRuleTemplates(true);
    const before = rulesFromTemplates();
    const tx = new Transaction();
    for (let i = 0; i < 10; i++)
      tx.addRule({
        family: 'ip',
        table: 't',
        chain: 'c',
        rule: rule()
          .tcp({ dport: i })
          .dnat({ to: `10.0.0.${i}`, port: 80 }),
      });
    expect(rulesFromTemplates() - before).toBe(8);
  });

  it('a chain per sandbox for a daemon lifetime: the scopes stay bounded, templates keep working', () => {
    // Rules without a shape (raw expressions) make a scope and no template: counted apart from shapes.
    for (let i = 0; i < 3000; i++) {
      const tx = new Transaction();
      tx.addRule({ family: 'inet', table: 't', chain: `sandbox-${i}`, rule: CASES[CASES.length - 1].make(i) });
      tx.encode();
    }
    expect(ruleTemplateScopes()).toBeLessThanOrEqual(1024);
    expect(ruleTemplateScopes()).toBeGreaterThan(0);
    // Cleared, not broken: a templated shape still writes the ordinary bytes from its template.
    const dnat = CASES[0];
    resetRuleTemplates(false);
    const ordinary = batch(dnat);
    resetRuleTemplates(true);
    for (let i = 0; i < 1500; i++) new Transaction().addRule({ family: 'ip', table: 't', chain: `c${i}`, rule: dnat.make(i) });
    const before = rulesFromTemplates();
    expect(batch(dnat).equals(ordinary)).toBe(true);
    expect(rulesFromTemplates() - before).toBeGreaterThanOrEqual(N - 2);
  });
});
