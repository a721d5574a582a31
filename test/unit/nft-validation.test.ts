/**
 * nftables input that used to wrap silently or reach the kernel is refused
 * with a ValidationError naming the field, before anything is encoded.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError, rule } from '../../lib';
import type { Expression } from '../../lib/nftables/expressions/registry';
import { Transaction } from '../../lib/nftables/transaction';

function refused(fn: () => unknown, field: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  expect((caught as ValidationError).message).toContain(field);
}

const base = { family: 'inet', table: 't', chain: 'c' } as const;

describe('nftables validation', () => {
  it('refuses marks that are not 32-bit unsigned integers instead of wrapping them', () => {
    for (const bad of [2 ** 32, -1, 1.5, 'x', NaN]) {
      refused(() => rule().setMark(bad as number), 'mark');
      refused(() => rule().setCtMark(bad as number), 'ct mark');
    }
    expect(() => rule().setMark(0xffffffff).setCtMark(0).toExpressions('inet')).not.toThrow();
  });

  it('refuses unknown option keys of snat, dnat, masquerade and redirect (a misspelt flag is not dropped)', () => {
    const tcp = () => rule().tcp({ dport: 80 });
    refused(
      () =>
        tcp()
          .dnat({ to: '10.0.0.2', port: 8080, persistant: true } as never)
          .toExpressions('ip'),
      'persistant',
    );
    refused(
      () =>
        tcp()
          .snat({ to: '10.0.0.2', fullRandom: true } as never)
          .toExpressions('ip'),
      'fullRandom',
    );
    refused(
      () =>
        tcp()
          .masquerade({ prot: 1024 } as never)
          .toExpressions('ip'),
      'prot',
    );
    refused(
      () =>
        tcp()
          .redirect({ port: 8080, randm: true } as never)
          .toExpressions('ip'),
      'randm',
    );
    refused(
      () =>
        tcp()
          .dnatMap({ numgen: { mode: 'random', mod: 2 }, entries: [{ key: 0, to: '10.0.0.2', prt: 80 }] } as never)
          .toExpressions('ip'),
      'prt',
    );
    refused(
      () =>
        tcp()
          .dnatMap({ numgen: { mode: 'random', mod: 2, ofset: 1 }, entries: [{ key: 0, to: '10.0.0.2' }] } as never)
          .toExpressions('ip'),
      'ofset',
    );
    refused(
      () =>
        tcp()
          .dnatWeighted([{ to: '10.0.0.2', weigth: 3 }] as never)
          .toExpressions('ip'),
      'weigth',
    );
    // In a transaction too: the third rule of a shape is written from a template, which must not skip the check.
    const tx = new Transaction();
    for (let i = 0; i < 3; i++) tx.addRule({ ...base, rule: tcp().dnat({ to: `10.0.0.${i + 1}`, port: 8080 }) });
    refused(() => tx.addRule({ ...base, rule: tcp().dnat({ to: '10.0.0.9', port: 8080, persistant: true } as never) }), 'persistant');
    expect(tx.size).toBe(3);
  });

  it('refuses chain types the kernel does not have', () => {
    const tx = new Transaction();
    const t = { family: 'inet', table: 't' } as const;
    refused(() => tx.addChain({ ...t, name: 'c', type: 'mangle' as never, hook: 'input' }), 'chain type');
    expect(tx.size).toBe(0);
    tx.addChain({ ...t, name: 'c', type: 'route', hook: 'output', priority: 'mangle' });
    expect(tx.size).toBe(1);
  });

  it('refuses a rule comment containing NUL instead of truncating it', () => {
    const tx = new Transaction();
    refused(() => tx.addRule({ ...base, rule: rule().accept().comment('a\0b') }), 'comment');
    refused(() => tx.addRule({ ...base, expressions: [], comment: 'a\0b' }), 'comment');
    expect(tx.size).toBe(0);
  });

  it('refuses a log prefix longer than the kernel takes and an nflog group beyond 16 bits', () => {
    refused(
      () =>
        rule()
          .log({ prefix: 'x'.repeat(200) })
          .toExpressions('inet'),
      'log prefix',
    );
    refused(() => rule().log({ group: 70000 }).toExpressions('inet'), 'log group');
    refused(() => rule().log({ group: -1 }).toExpressions('inet'), 'log group');
    expect(
      rule()
        .log({ prefix: 'x'.repeat(127), group: 65535 })
        .toExpressions('inet'),
    ).toHaveLength(1);
  });

  it('refuses jump and goto targets that are no chain name', () => {
    refused(() => rule().jump('x'.repeat(300)).toExpressions('inet'), 'jump target');
    refused(() => rule().goto('a b').toExpressions('inet'), 'goto target');
  });

  it('refuses reject codes beyond a byte', () => {
    refused(() => rule().reject({ with: 'icmp', code: 999 }).toExpressions('ip'), 'reject code');
    refused(() => rule().reject({ with: 'icmp', code: 1.5 }).toExpressions('ip'), 'reject code');
  });

  it('refuses weights whose sum does not fit numgen modulus', () => {
    refused(
      () =>
        rule().dnatWeighted([
          { to: '10.0.0.2', weight: 2 ** 31 },
          { to: '10.0.0.3', weight: 2 ** 31 },
        ]),
      'weight',
    );
  });

  it('refuses rule userdata longer than the kernel stores', () => {
    const tx = new Transaction();
    refused(() => tx.addRule({ ...base, expressions: [], userdata: Buffer.alloc(300) }), 'userdata');
    expect(tx.size).toBe(0);
  });

  it('refuses negative or fractional timeouts and a negative quota', () => {
    const tx = new Transaction();
    const set = { family: 'inet', table: 't', name: 's', keyType: 'ipv4_addr', flags: ['timeout'] } as const;
    refused(() => tx.addSet({ ...set, timeout: -1 }), 'timeout');
    refused(() => tx.addSet({ ...set, timeout: 1.5 }), 'timeout');
    refused(() => tx.addElements({ family: 'inet', table: 't', name: 's' }, [{ key: '10.0.0.1', timeout: 1.5 }]), 'element timeout');
    refused(() => tx.addElements({ family: 'inet', table: 't', name: 's' }, [{ key: '10.0.0.1', timeout: -5 }]), 'element timeout');
    refused(() => tx.addObject({ family: 'inet', table: 't', name: 'q', type: 'quota', bytes: -1n }), 'quota bytes');
    expect(tx.size).toBe(0);
  });

  it('refuses NUL in every kind of comment', () => {
    const tx = new Transaction();
    refused(() => tx.addTable({ family: 'inet', name: 't', comment: 'a\0b' }), 'comment');
    refused(() => tx.addChain({ family: 'inet', table: 't', name: 'c', comment: 'a\0b' }), 'invalid comment');
    refused(() => tx.addSet({ family: 'inet', table: 't', name: 's', keyType: 'ipv4_addr', comment: 'a\0b' }), 'comment');
    refused(() => tx.addObject({ family: 'inet', table: 't', name: 'q', type: 'counter', comment: 'a\0b' }), 'comment');
    refused(() => tx.addElements({ family: 'inet', table: 't', name: 's' }, [{ key: '10.0.0.1', comment: 'a\0b' }]), 'comment');
    expect(tx.size).toBe(0);
  });

  it('refuses a port mapping without a transport protocol match, as nft does', () => {
    const tx = new Transaction();
    const nat = { family: 'ip', table: 'nat', chain: 'pre' } as const;
    refused(() => tx.addRule({ ...nat, rule: rule().dnat({ to: '10.0.0.2', port: 80 }) }), 'dnat port');
    refused(() => tx.addRule({ ...nat, rule: rule().ip({ saddr: '10.0.0.0/24' }).snat({ to: '192.0.2.1', port: 80 }) }), 'snat port');
    refused(() => tx.addRule({ ...nat, rule: rule().masquerade({ port: '1024-2048' }) }), 'masquerade port');
    refused(() => tx.addRule({ ...nat, rule: rule().redirect({ port: 8080 }) }), 'redirect port');
    refused(() => tx.addRule({ ...nat, rule: rule().dnat({ to: '10.0.0.2', port: 80 }).tcp({ dport: 80 }) }), 'dnat port');
    expect(tx.size).toBe(0);
    tx.addRule({ ...nat, rule: rule().tcp({ dport: 8080 }).dnat({ to: '10.0.0.2', port: 80 }) });
    tx.addRule({ ...nat, rule: rule().protocol('udp').dnat({ to: '10.0.0.2', port: 53 }) });
    tx.addRule({ ...nat, rule: rule().dnat({ to: '10.0.0.2' }) });
    tx.addRule({ ...nat, rule: rule().tcp({ dport: 80 }).redirect({ port: 8080 }) });
    expect(tx.size).toBe(4);
  });

  it('refuses a port mapping without a transport match also in a fragment, a named dnat map and raw expressions', () => {
    const tx = new Transaction();
    const nat = { family: 'ip', table: 'nat', chain: 'pre' } as const;
    const dnatPort: Expression = { type: 'nat', nat: 'dnat', family: 'ip', regAddrMin: 1, regAddrMax: 1, regProtoMin: 2, regProtoMax: 2 };
    const addrAndPort: Expression[] = [
      { type: 'immediate', dreg: 1, data: Buffer.from([10, 0, 0, 2]) },
      { type: 'immediate', dreg: 2, data: Buffer.from([0, 80]) },
    ];
    const l4proto = (proto: number): Expression[] => [
      { type: 'meta', key: 'l4proto', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([proto]) },
    ];
    // A fragment is checked as a rule is.
    refused(() => rule().dnat({ to: '10.0.0.2', port: 80 }).toExpressions('ip'), 'dnat port');
    refused(() => rule().masquerade({ port: 2000 }).toExpressions('inet'), 'masquerade port');
    // A named map holds address . port.
    refused(() => tx.addRule({ ...nat, rule: rule().dnatMap({ fields: 'ip daddr', entries: '@dn' }) }), 'dnatMap entries');
    refused(
      () =>
        rule()
          .dnatMap({ numgen: { mode: 'random', mod: 2 }, entries: '@dn' })
          .toExpressions('ip'),
      'dnatMap entries',
    );
    refused(
      () => tx.addRule({ ...nat, rule: rule().dnatMap({ numgen: { mode: 'random', mod: 2 }, entries: [{ key: 0, to: '10.0.0.2', port: 80 }] }) }),
      'dnatMap entries',
    );
    // Raw expressions: a raw port mapping needs a match, and a raw protocol match that is not a transport one does not count.
    refused(
      () =>
        rule()
          .expressions(...addrAndPort, dnatPort)
          .toExpressions('ip'),
      'expressions[2].regProtoMin',
    );
    refused(() => tx.addRule({ ...nat, rule: rule().expressions(...l4proto(1), ...addrAndPort, dnatPort) }), 'regProtoMin');
    refused(
      () =>
        tx.addRule({
          ...nat,
          rule: rule()
            .expressions(...addrAndPort, dnatPort)
            .tcp({ dport: 80 }),
        }),
      'regProtoMin',
    );
    expect(tx.size).toBe(0);
    // What nft accepts passes: a transport match first (builder or raw), a key that holds the protocol, no port.
    tx.addRule({
      ...nat,
      rule: rule()
        .tcp({ dport: 80 })
        .expressions(...addrAndPort, dnatPort),
    });
    tx.addRule({ ...nat, rule: rule().expressions(...l4proto(17), ...addrAndPort, dnatPort) });
    tx.addRule({
      ...nat,
      rule: rule()
        .expressions(...l4proto(6))
        .dnat({ to: '10.0.0.2', port: 80 }),
    });
    tx.addRule({ ...nat, rule: rule().tcp({ dport: 80 }).dnatMap({ fields: 'ip daddr', entries: '@dn' }) });
    tx.addRule({ ...nat, rule: rule().dnatMap({ fields: ['meta l4proto', 'th dport'], entries: '@pub4' }) });
    tx.addRule({ ...nat, rule: rule().dnatMap({ numgen: { mode: 'random', mod: 2 }, entries: [{ key: 0, to: '10.0.0.2' }] }) });
    expect(tx.size).toBe(6);
    expect(rule().udp({ dport: 53 }).dnat({ to: '10.0.0.2', port: 5353 }).toExpressions('ip').at(-1)).toMatchObject({ type: 'nat', regProtoMin: 2 });
  });
});

describe('nftables: iface_index set elements', () => {
  const S = { family: 'inet', table: 't', name: 's' } as const;
  const sets = [
    { ...S, keyType: 'iface_index' },
    { ...S, keyType: 'iface_index', flags: ['interval'] },
    { ...S, keyType: ['iface_index', 'ipv4_addr'] },
  ] as const;

  it('refuses an index a link cannot have (2^31 and above: ifindex is an int; nft refuses them too), as keys, ranges and map values', () => {
    for (const bad of [2 ** 31, 0xffffffff, '2147483648', '0xffffffff', 2n ** 31n]) {
      const tx = new Transaction();
      refused(() => tx.addSet({ ...sets[0] }, [{ key: bad }]), 'element key');
      refused(() => tx.addSet({ ...sets[1] }, [{ key: `1-${String(bad)}` }]), 'element key');
      refused(() => tx.addSet({ ...sets[2], keyType: ['iface_index', 'ipv4_addr'] }, [{ key: [bad, '10.0.0.1'] }]), 'element key');
      refused(() => tx.addSet({ ...S, keyType: 'ipv4_addr', dataType: 'iface_index' }, [{ key: '10.0.0.1', value: bad }]), 'element value');
      expect(tx.size).toBe(0);
    }
    const tx = new Transaction();
    let caught: unknown;
    try {
      tx.addSet({ ...sets[0] }, [{ key: 2 ** 31 }]);
    } catch (e) {
      caught = e;
    }
    expect((caught as ValidationError).message).toContain('an interface index: an integer from 0 to 2147483647');
  });

  it('takes 0 to 2^31 - 1 (0, as nft writes it, matches no packet), decimal or hex text, and 4 raw bytes', () => {
    const tx = new Transaction();
    tx.addSet({ ...sets[0] }, [{ key: 0 }, { key: 1 }, { key: 2 ** 31 - 1 }, { key: '7' }, { key: '0x7ffffffe' }, { key: Buffer.alloc(4, 0xff) }]);
    tx.addSet({ ...sets[1] }, [{ key: '1-2147483647' }]);
    tx.addSet({ ...sets[2] }, [{ key: [5, '10.0.0.1'] }]);
    expect(tx.size).toBe(3);
  });

  it('refuses what was refused before: negative, above 2^32 - 1, fractional, a name', () => {
    for (const bad of [-1, 2 ** 32, 1.5, -1n, 'eth0']) refused(() => new Transaction().addSet({ ...sets[0] }, [{ key: bad }]), 'element key');
  });
});
