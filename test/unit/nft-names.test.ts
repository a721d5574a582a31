// Every name, comment and string a caller gives nftables is checked by one
// validator before anything is sent: `nft list ruleset` prints names bare and
// text between double quotes, so a newline, NUL, DEL, '"' or nft syntax in
// one would end up as an injected line in a saved ruleset.
import { describe, expect, it } from 'vitest';
import { ValidationError, rule } from '../../lib';
import { buildUdata } from '../../lib/nftables/userdata';
import { Transaction } from '../../lib/nftables/transaction';
import { nftListOps } from '../../lib/nftables/list';
import { rejectControlCharacters, validateInterfaceName, validateNftName, validateNftText } from '../../lib/validate/names';

const CONTROL = ['\n', '\0', '\x7f', '\r', '\x1b', '\u0085'];

/** The ValidationError a call throws; fails the test when it throws anything else or nothing. */
function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

const f = 'inet' as const;

/** One entry per place a caller can put a string into an nftables command: [what, field, command using `s`]. */
const PLACES: Array<[string, string, (tx: Transaction, s: string) => unknown]> = [
  ['table name', 'table name', (tx, s) => tx.addTable({ family: f, name: s })],
  ['table to delete', 'table name', (tx, s) => tx.deleteTable({ family: f, name: s })],
  ['table comment', 'comment', (tx, s) => tx.addTable({ family: f, name: 't', comment: s })],
  ['chain name', 'chain name', (tx, s) => tx.addChain({ family: f, table: 't', name: s })],
  ['chain table', 'table name', (tx, s) => tx.addChain({ family: f, table: s, name: 'c' })],
  ['chain comment', 'comment', (tx, s) => tx.addChain({ family: f, table: 't', name: 'c', comment: s })],
  ['chain device', 'device', (tx, s) => tx.addChain({ family: 'netdev', table: 't', name: 'c', type: 'filter', hook: 'ingress', device: s })],
  ['chain type', 'chain type', (tx, s) => tx.addChain({ family: f, table: 't', name: 'c', type: s as never, hook: 'input' })],
  ['set name', 'set name', (tx, s) => tx.addSet({ family: f, table: 't', name: s, keyType: 'ipv4_addr' })],
  ['map name', 'set name', (tx, s) => tx.addSet({ family: f, table: 't', name: s, keyType: 'ipv4_addr', dataType: 'verdict' })],
  ['set comment', 'comment', (tx, s) => tx.addSet({ family: f, table: 't', name: 's', keyType: 'ipv4_addr', comment: s })],
  ['set to delete', 'set name', (tx, s) => tx.deleteSet({ family: f, table: 't', name: s })],
  ['element comment', 'element comment', (tx, s) => tx.addElements({ family: f, table: 't', name: 's' }, [{ key: '10.0.0.1', comment: s }])],
  [
    'element comment (set of this transaction)',
    'element comment',
    (tx, s) => {
      tx.addSet({ family: f, table: 't', name: 's', keyType: 'ipv4_addr' });
      return tx.addElements({ family: f, table: 't', name: 's' }, [{ key: '10.0.0.1', comment: s }]);
    },
  ],
  ['elements of a set', 'set name', (tx, s) => tx.addElements({ family: f, table: 't', name: s }, [{ key: '10.0.0.1' }])],
  ['element object', 'element object', (tx, s) => tx.addElements({ family: f, table: 't', name: 'om' }, [{ key: 80, object: s }])],
  [
    'element verdict target',
    'jump target',
    (tx, s) => tx.addElements({ family: f, table: 't', name: 'vm' }, [{ key: 80, verdict: { code: 'jump', chain: s } }]),
  ],
  [
    'ifname element',
    'element key',
    (tx, s) => {
      tx.addSet({ family: f, table: 't', name: 'ifs', keyType: 'ifname' });
      return tx.addElements({ family: f, table: 't', name: 'ifs' }, [{ key: s }]);
    },
  ],
  ['flushed set', 'set name', (tx, s) => tx.flushSet({ family: f, table: 't', name: s })],
  ['object name', 'object name', (tx, s) => tx.addObject({ family: f, table: 't', name: s, type: 'counter' })],
  ['object comment', 'comment', (tx, s) => tx.addObject({ family: f, table: 't', name: 'o', type: 'counter', comment: s })],
  ['object to delete', 'object name', (tx, s) => tx.deleteObject({ family: f, table: 't', name: s, type: 'counter' })],
  ['rule chain', 'chain name', (tx, s) => tx.addRule({ family: f, table: 't', chain: s, rule: rule().accept() })],
  ['rule comment', 'comment', (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().accept(), comment: s })],
  ['rule comment (builder)', 'comment', (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().accept().comment(s) })],
  [
    'rule userdata comment',
    'userdata comment',
    (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().accept(), userdata: buildUdata([{ type: 0, value: Buffer.from(s + '\0') }]) }),
  ],
  ['log prefix', 'log prefix', (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().log({ prefix: s }) })],
  ['jump target', 'jump target', (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().jump(s) })],
  ['goto target', 'goto target', (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().goto(s) })],
  [
    'vmap jump target',
    'jump target',
    (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().vmap('tcp dport', [{ key: 22, verdict: { jump: s } }]) }),
  ],
  ['iifname', 'meta iifname', (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().iifname(s).accept() })],
  [
    'iifname wildcard',
    'meta iifname',
    (tx, s) =>
      tx.addRule({
        family: f,
        table: 't',
        chain: 'c',
        rule: rule()
          .iifname(s + '*')
          .accept(),
      }),
  ],
  ['oifname set', 'meta oifname', (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().oifname(['eth0', s]).accept() })],
  [
    'named set lookup',
    'lookup set',
    (tx, s) =>
      tx.addRule({
        family: f,
        table: 't',
        chain: 'c',
        rule: rule()
          .tcp({ dport: `@${s}` })
          .accept(),
      }),
  ],
  ['named map lookup', 'lookup set', (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().vmap('tcp dport', `@${s}`) })],
  [
    'object reference',
    'object name',
    (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', expressions: [{ type: 'objref', objectType: 'counter', name: s }] }),
  ],
  ['object map reference', 'object map', (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', expressions: [{ type: 'objref', sreg: 1, set: s }] })],
  ['dynset set', 'dynset set', (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', expressions: [{ type: 'dynset', set: s, op: 'add', sregKey: 1 }] })],
  [
    'opaque expression name',
    'expression name',
    (tx, s) => tx.addRule({ family: f, table: 't', chain: 'c', expressions: [{ type: 'opaque', name: s, data: Buffer.alloc(0) }] }),
  ],
  ['flushed chain', 'chain name', (tx, s) => tx.flushChain({ family: f, table: 't', name: s })],
];

describe('nftables names and text', () => {
  describe.each(PLACES)('%s', (_what, field, command) => {
    it.each(CONTROL)('refuses %j, naming the field, and adds no command', (c) => {
      const tx = new Transaction();
      const e = refusal(() => command(tx, `a${c}b`));
      expect(e.field).toBe(field);
      expect(e.message).toMatch(/control characters/);
      // A rejected command leaves nothing behind (the set of the same transaction may stay).
      expect(tx.describe().filter((d) => !d.startsWith('add set'))).toEqual([]);
    });
  });

  it('refuses nft syntax in names, which `nft list ruleset` prints bare', () => {
    for (const bad of ['a b', 'x;y', 'q"z', 'm{n', 'a#b', 'a$b', 'a@b', 'é', 'a\tb', "a'b", 'a,b']) {
      const e = refusal(() => new Transaction().addTable({ family: f, name: bad }));
      expect(e.field).toBe('table name');
      expect(e.value).toBe(bad);
      expect(refusal(() => new Transaction().addRule({ family: f, table: 't', chain: 'c', rule: rule().jump(bad) })).field).toBe('jump target');
    }
    expect(refusal(() => validateNftName('x'.repeat(256), 'set name')).message).toMatch(/longer than 255/);
    expect(refusal(() => validateNftName('', 'set name')).message).toMatch(/non-empty/);
  });

  it('refuses a double quote in text, which nft prints between double quotes', () => {
    const tx = new Transaction();
    expect(refusal(() => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().accept(), comment: 'x"; flush ruleset; "' })).field).toBe('comment');
    expect(refusal(() => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().log({ prefix: 'say "hi"' }) })).field).toBe('log prefix');
    expect(refusal(() => tx.addRule({ family: f, table: 't', chain: 'c', rule: rule().iifname('a"b').accept() })).field).toBe('meta iifname');
    expect(refusal(() => validateNftText('x'.repeat(129), 'comment', 128)).message).toMatch(/longer than 128/);
    expect(tx.size).toBe(0);
  });

  it('accepts what nft writes: identifiers, kernel set-name templates, free text in comments', () => {
    for (const ok of ['filter', 'DOCKER-USER', 'service-ULMVA6XW-ns1/svc1/tcp/p80', '_x', '.x', 'a.b', '1abc', 'x'.repeat(255), '__set%d', '__map%d']) {
      expect(validateNftName(ok, 'table name')).toBe(ok);
    }
    const tx = new Transaction();
    tx.addTable({ family: f, name: 'nlkit', comment: "allow ssh; it's fine: {ok} #1 ✓" });
    tx.addRule({ family: f, table: 'nlkit', chain: 'c', rule: rule().iifname('veth*').log({ prefix: 'dropped: ' }).drop().comment('a b') });
    tx.addRule({
      family: f,
      table: 'nlkit',
      chain: 'c',
      rule: rule()
        .tcp({ dport: [22, 80] })
        .jump('svc-1'),
    });
    expect(tx.size).toBe(3);
  });

  it('list filters and set references are checked too', () => {
    expect(() => nftListOps.listRules({ table: 'a\nb' }).next()).toThrow(ValidationError);
    expect(() => nftListOps.listRules({ table: 't', chain: 'c\0' }).next()).toThrow(ValidationError);
    expect(() => nftListOps.listElements({ family: f, table: 't', name: 's\x7f' }).next()).toThrow(ValidationError);
    expect(() => nftListOps.listObjects({ table: 'x y' }).next()).toThrow(ValidationError);
  });

  it('interface names and control characters in general', () => {
    for (const c of CONTROL) {
      expect(() => validateInterfaceName(`e${c}0`)).toThrow(ValidationError);
      expect(() => rejectControlCharacters(`a${c}`, 'x')).toThrow(/control characters/);
    }
    expect(validateInterfaceName('veth-c1.0')).toBe('veth-c1.0');
  });
});

describe('names that are members of every JavaScript object', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('%j is no priority, ct state or direction', (name) => {
    const tx = new Transaction();
    expect(refusal(() => tx.addChain({ family: f, table: 't', name: 'c', type: 'filter', hook: 'input', priority: name })).field).toBe('priority');
    expect(
      refusal(() =>
        tx.addRule({
          family: f,
          table: 't',
          chain: 'c',
          rule: rule()
            .ct({ state: name as never })
            .accept(),
        }),
      ).field,
    ).toBe('ct state');
    expect(
      refusal(() =>
        tx.addRule({
          family: f,
          table: 't',
          chain: 'c',
          rule: rule()
            .ct({ direction: name as never })
            .accept(),
        }),
      ).field,
    ).toBe('ct direction');
    expect(
      refusal(() =>
        tx.addRule({
          family: f,
          table: 't',
          chain: 'c',
          rule: rule()
            .nfproto(name as never)
            .accept(),
        }),
      ).field,
    ).toBe('meta nfproto');
    expect(tx.size).toBe(0);
  });
});
