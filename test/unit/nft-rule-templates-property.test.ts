// Property check of rule templates (lib/nftables/rule-templates.ts): random rules, built of every
// input the wire encodes (fields, operators, value kinds and lengths, named sets, NAT kinds, flags,
// ranges and families, counters, verdicts, comments on the builder and on the input, userdata,
// insert or append, anchors, replace), each shape met many times with other values, must give the
// same batch with templates on as off. Options objects are changed after each call and after each
// add: a template must not read them late. The shape keys' join map (rule-shape.ts) is overflowed
// between rounds, so keys made before and after its clearing meet the same templates.
import { afterAll, describe, expect, it } from 'vitest';
import { not, rule, type RuleBuilder } from '../../lib';
import { joinedKeyCount } from '../../lib/nftables/builder/rule-shape';
import type { NftFamily } from '../../lib/nftables/message';
import { resetRuleTemplates, rulesFromTemplates } from '../../lib/nftables/rule-templates';
import { Transaction } from '../../lib/nftables/transaction';

/** A small seeded generator (mulberry32): the same specs on every run, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** A value of a kind; `v` picks the value, the kind (and so its byte length) is the spec's. */
const VALUES: Record<string, (v: Rand) => unknown> = {
  port: (v) => Math.floor(v() * 65536),
  v4: (v) => `${Math.floor(v() * 256)}.${Math.floor(v() * 256)}.${Math.floor(v() * 256)}.${Math.floor(v() * 256)}`,
  v6: (v) => `fd00:${Math.floor(v() * 65536).toString(16)}::${Math.floor(v() * 65535 + 1).toString(16)}`,
  mark: (v) => Math.floor(v() * 2 ** 32),
  ifname: (v) => `veth${Math.floor(v() * 1e6).toString(36)}`,
};

/** One step of a rule spec: what it does with a rule's values (`v`) and the spec's constants. */
type Step = (b: RuleBuilder, v: Rand) => void;

/** Options objects handed to the builder: changed after the rule was added (a template must have copied them). */
let handed: Array<Record<string, unknown>> = [];
function hand<T extends Record<string, unknown>>(o: T): T {
  handed.push(o);
  return o;
}

/** A step's constants (fields, operators, flags, set names, lengths): fixed per spec, while its values vary per rule. */
type Consts = Record<string, unknown>;

/** Each kind of step: its constants drawn at random for a family, and the step they make. */
const KINDS: Array<{ draw(r: Rand, family: NftFamily): Consts; step(c: Consts, family: NftFamily): Step }> = [
  {
    draw: (r) => ({
      field: pick(r, ['tcp dport', 'tcp sport', 'udp dport', 'th dport', 'sctp sport']),
      negated: r() < 0.3,
      value: pick(r, ['slot', 'slot', 'slot', '@ports0', '@ports1', 22, 23, '1000-2000', [80, 443]]),
    }),
    step: (c) => (b, v) => {
      const value = (c.value === 'slot' ? VALUES.port(v) : c.value) as number;
      b.match(c.field as 'tcp dport', c.negated ? not(value) : value);
    },
  },
  {
    draw: (r, family) => ({
      field:
        family === 'ip6'
          ? pick(r, ['ip6 saddr', 'ip6 daddr'])
          : family === 'ip'
            ? pick(r, ['ip saddr', 'ip daddr'])
            : pick(r, ['ip saddr', 'ip daddr', 'ip6 saddr']),
      negated: r() < 0.3,
      form: pick(r, ['plain', 'plain', 'prefix', '@addrs', '@other', 'range']),
    }),
    step: (c) => (b, v) => {
      const six = (c.field as string).startsWith('ip6');
      const a = (six ? VALUES.v6(v) : VALUES.v4(v)) as string;
      const value =
        c.form === 'plain'
          ? a
          : c.form === 'prefix'
            ? six
              ? 'fd00::/64'
              : `${a.replace(/\.\d+$/, '.0')}/24`
            : c.form === 'range'
              ? six
                ? 'fd00::1-fd00::9'
                : '10.0.0.1-10.0.0.9'
              : c.form;
      b.match(c.field as 'ip saddr', c.negated ? not(value) : value);
    },
  },
  {
    draw: (r) => ({ field: pick(r, ['meta mark', 'ct mark']), negated: r() < 0.3, value: pick(r, ['slot', 'slot', 7]) }),
    step: (c) => (b, v) => {
      const m = (c.value === 'slot' ? VALUES.mark(v) : c.value) as number;
      b.match(c.field as 'meta mark', c.negated ? not(m) : m);
    },
  },
  {
    draw: (r) => ({ field: pick(r, ['iifname', 'oifname']), wild: r() < 0.3 }),
    step: (c) => (b, v) => b.match(c.field as 'iifname', c.wild ? 'veth*' : (VALUES.ifname(v) as string)),
  },
  {
    draw: (r) => ({ name: pick(r, [undefined, undefined, 'cnt0', 'cnt1', 'cnt10']) }),
    step: (c) => (b) => b.counter(c.name === undefined ? undefined : hand({ name: c.name })),
  },
  {
    draw: (r, family) => ({
      kind: pick(r, ['snat', 'dnat', 'masquerade', 'redirect']),
      to: family === 'ip6' ? pick(r, ['v6', 'v6range']) : family === 'ip' ? pick(r, ['v4', 'v4range']) : pick(r, ['v4', 'v6', 'v4range']),
      port: pick(r, ['slot', 'range', 'none']),
      random: r() < 0.3,
      fullyRandom: r() < 0.3,
      persistent: r() < 0.3,
      family: r() < 0.3,
    }),
    step: (c, family) => (b, v) => {
      const o: Record<string, unknown> = {};
      const six = (c.to as string).startsWith('v6');
      if (c.kind === 'snat' || c.kind === 'dnat') {
        o.to = c.to === 'v4' ? VALUES.v4(v) : c.to === 'v6' ? VALUES.v6(v) : six ? 'fd00::1-fd00::8' : '10.0.0.1-10.0.0.8';
        // An IPv6 address in an inet table needs its family.
        if (c.family || (family === 'inet' && six)) o.family = six ? 'ip6' : 'ip';
      }
      // A port mapping needs a transport match before it (as nft requires).
      if (c.port !== 'none') b.tcp({ dport: VALUES.port(v) as number });
      if (c.port === 'slot') o.port = VALUES.port(v);
      else if (c.port === 'range') o.port = '8000-8100';
      for (const key of ['random', 'fullyRandom', 'persistent']) if (c[key]) o[key] = true;
      (b[c.kind as 'snat'] as (o: object) => RuleBuilder).call(b, hand(o));
    },
  },
  {
    // A comment on the builder: fixed text, a text whose value varies at one length, or one whose length varies.
    draw: (r) => ({ text: pick(r, ['fixed', 'fixes', 'varies', 'length']) }),
    step: (c) => (b, v) =>
      b.comment(
        c.text === 'varies' ? `svc-${Math.floor(v() * 9000 + 1000)}` : c.text === 'length' ? `x${'y'.repeat(Math.floor(v() * 5))}` : (c.text as string),
      ),
  },
  {
    draw: (r) => ({ prefix: pick(r, ['p: ', 'q: ']) }),
    step: (c) => (b) => b.log(hand({ prefix: c.prefix })),
  },
  {
    draw: (r) => ({ verdict: pick(r, ['accept', 'drop', 'jump', 'goto']) }),
    step: (c) => (b) => {
      if (c.verdict === 'accept') b.accept();
      else if (c.verdict === 'drop') b.drop();
      else if (c.verdict === 'jump') b.jump('other');
      else b.goto('other');
    },
  },
];

/** A spec: its family, its steps' kinds and constants, how its rules are added. */
interface Spec {
  family: NftFamily;
  steps: Array<{ kind: number; consts: Consts }>;
  placement: Placement;
}

function makeSpec(r: Rand): Spec {
  const family = pick(r, ['ip', 'ip6', 'inet'] as const);
  const steps = Array.from({ length: 1 + Math.floor(r() * 4) }, () => {
    const kind = Math.floor(r() * KINDS.length);
    return { kind, consts: KINDS[kind].draw(r, family) };
  });
  return { family, steps, placement: makePlacement(r) };
}

/**
 * A neighbour of a spec: the same but for one thing (one constant of one step, a step more or less, or one
 * thing of its placement). Rules of the two meet in one chain: they must never share a template.
 */
function neighbour(s: Spec, r: Rand): Spec {
  const steps = s.steps.map((x) => ({ kind: x.kind, consts: { ...x.consts } }));
  const placement = { ...s.placement };
  const what = r();
  if (what < 0.6) {
    const x = steps[Math.floor(r() * steps.length)];
    const keys = Object.keys(x.consts);
    const key = keys[Math.floor(r() * keys.length)];
    // Drawn again until it differs (a few tries: some constants have two values).
    for (let i = 0; i < 8 && x.consts[key] === s.steps[steps.indexOf(x)].consts[key]; i++) x.consts[key] = KINDS[x.kind].draw(r, s.family)[key];
  } else if (what < 0.7) steps.pop();
  else if (what < 0.8) {
    const kind = Math.floor(r() * KINDS.length);
    steps.push({ kind, consts: KINDS[kind].draw(r, s.family) });
  } else {
    const other = makePlacement(r);
    const key = pick(r, ['comment', 'userdata', 'verb'] as const);
    (placement as Record<string, unknown>)[key] = other[key];
  }
  return { family: s.family, steps, placement };
}

/** Changes an options object to other valid values of each key (a late read would then write other bytes). */
function mutate(o: Record<string, unknown>): void {
  for (const [key, x] of Object.entries(o)) {
    if (typeof x === 'boolean') o[key] = !x;
    else if (typeof x === 'number') o[key] = x ^ 1;
    else if (key === 'to') o[key] = String(x).includes(':') ? 'fd00::99' : String(x).includes('-') ? '10.0.0.2-10.0.0.3' : '10.9.9.9';
    else if (key === 'port') o[key] = '9000-9100';
    else if (key === 'prefix') o[key] = 'q: ';
    else if (key === 'name') o[key] = 'other';
  }
}

/** How a spec's rule is added: the input's comment, userdata, insert or append, an anchor, replace. */
interface Placement {
  comment: 'none' | 'fixed' | 'varies' | 'length';
  userdata: boolean;
  verb: 'add' | 'insert' | 'addAfter' | 'insertBefore' | 'insertIndex' | 'replace';
}

function makePlacement(r: Rand): Placement {
  return {
    comment: pick(r, ['none', 'none', 'fixed', 'varies', 'length'] as const),
    userdata: r() < 0.15,
    verb: pick(r, ['add', 'add', 'add', 'insert', 'insert', 'addAfter', 'insertBefore', 'insertIndex', 'replace'] as const),
  };
}

/** Random specs, and neighbours of each. */
const BASES = 12;
const NEIGHBOURS = 5;
const ROUNDS = 4;
const PER_ROUND = 3;

/** The batch of every spec's rules: each spec met PER_ROUND times per round, specs interleaved; the join map overflowed between rounds. */
function batch(seed: number, overflow: boolean, errors: string[] = []): Buffer {
  const r = prng(seed);
  const specs: Spec[] = [];
  for (let i = 0; i < BASES; i++) {
    const base = makeSpec(r);
    specs.push(base);
    for (let k = 0; k < NEIGHBOURS; k++) specs.push(neighbour(base, r));
  }
  const steps = specs.map((spec) => spec.steps.map((x) => KINDS[x.kind].step(x.consts, spec.family)));
  const v = prng(seed ^ 0x5eed);
  const tx = new Transaction();
  let first = -1;
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < PER_ROUND; k++)
      for (let at = 0; at < specs.length; at++) {
        const spec = specs[at];
        handed = [];
        const b = rule();
        for (const step of steps[at]) step(b, v);
        const p = spec.placement;
        const input = {
          family: spec.family,
          table: 't',
          chain: 'c',
          rule: b,
          comment:
            p.comment === 'none'
              ? undefined
              : p.comment === 'fixed'
                ? 'added'
                : p.comment === 'varies'
                  ? `n${Math.floor(v() * 90 + 10)}`
                  : 'z'.repeat(1 + Math.floor(v() * 4)),
          userdata: p.userdata ? Buffer.from([1, 2, Math.floor(v() * 256)]) : undefined,
        };
        // Options objects changed between the call and the add, and after the add.
        for (const o of handed) mutate(o);
        let added = -1;
        try {
          if (p.verb === 'add') added = tx.addRule(input);
          else if (p.verb === 'insert') added = tx.insertRule(input);
          else if (p.verb === 'addAfter') added = tx.addRule(input, { after: first >= 0 ? { command: first } : 7 });
          else if (p.verb === 'insertBefore') added = tx.insertRule(input, { before: 9 });
          else if (p.verb === 'insertIndex') added = tx.insertRule(input, { index: 2 });
          else added = tx.replaceRule({ ...input, handle: 11 });
        } catch (e) {
          // A spec the builder refuses (a port without a transport match...): refused the same way in both modes.
          errors.push(`${(e as Error).name}: ${(e as Error).message}`);
        }
        if (first < 0 && added >= 0 && p.verb !== 'replace') first = added;
        for (const o of handed) for (const key of Object.keys(o)) delete o[key];
      }
    // Keys whose parts never repeat (a named set per rule): the join map clears in between rounds.
    if (overflow) for (let i = 0; i < 5000; i++) rule().tcp({ dport: 1 }).match('ip saddr', `@round${round}-${i}`);
  }
  return tx.encode();
}

describe('rule templates, random specs', () => {
  afterAll(() => resetRuleTemplates(true));

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: the same batch with templates as without, across rounds and the join map's clearing`, () => {
      resetRuleTemplates(false);
      const ordinaryErrors: string[] = [];
      const ordinary = batch(seed, true, ordinaryErrors);
      resetRuleTemplates(true);
      const before = rulesFromTemplates();
      const fastErrors: string[] = [];
      const fast = batch(seed, true, fastErrors);
      const used = rulesFromTemplates() - before;
      expect(fastErrors).toEqual(ordinaryErrors);
      if (!fast.equals(ordinary)) {
        let at = 0;
        while (fast[at] === ordinary[at]) at++;
        expect.fail(`seed ${seed}: batches differ at byte ${at} (lengths ${fast.length}, ${ordinary.length})`);
      }
      // Not vacuous: templates wrote some of the rules (else this compared the ordinary path with itself).

      expect(used).toBeGreaterThan(BASES);
      // A second pass with every template made: the same bytes again.
      expect(batch(seed, false).equals(ordinary)).toBe(true);
    });
  }

  it('the join map of shape keys stays bounded when new parts come under a known prefix', () => {
    // Under '' (the first step) and under a known prefix: the map must clear, not grow.
    for (let i = 0; i < 6000; i++) rule().match('ip saddr', `@first${i}`);
    expect(joinedKeyCount()).toBeLessThanOrEqual(4096);
    for (let i = 0; i < 6000; i++) rule().tcp({ dport: 1 }).match('ip saddr', `@second${i}`);
    expect(joinedKeyCount()).toBeLessThanOrEqual(4096);
    // The keys are the same strings as before the clearing.
    expect(rule().tcp({ dport: 2 }).match('ip saddr', '@second1').shapeKey).toBe('m9:tcp dport$P;m8:ip saddrs8:@second1;');
  });
});
