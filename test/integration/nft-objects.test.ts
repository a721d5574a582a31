// Typed named objects beyond counters, quotas and limits: ct helper, ct
// timeout, ct expectation and synproxy. Added by nlkit → `nft -j` shows the
// same fields and nft rules can refer to them; added by `nft -f` → nlkit lists
// them typed, and a listed object added elsewhere reads back identical in nft.
// Secmark needs SELinux (absent here): its bytes are tested in
// test/unit/nft-objects.test.ts.
import { describe, expect, it } from 'vitest';
import { ValidationError, describeNftRule, type NftObject } from '../../lib';
import { nft, nftLoad, nftObjects } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

const IP = { family: 'ip', table: 'objs' } as const;
const INET = { family: 'inet', table: 'objs6' } as const;

/** nft -j's fields of every object of these kinds in a table, without handles. */
function nftTyped(netns: string, table: string): Array<Record<string, unknown>> {
  return ['ct helper', 'ct timeout', 'ct expectation', 'synproxy'].flatMap((kind) =>
    nftObjects(netns, kind, table).map(({ handle: _h, table: _t, ...o }) => ({ kind, ...(o as Record<string, unknown>) })),
  );
}

describe('typed nftables objects: ct helper, ct timeout, ct expectation, synproxy', () => {
  const box = useNetns('a', 'b');

  it('added by nlkit, nft shows the same fields and its rules can use them', async () => {
    const tx = box.h('a').nft.transaction();
    tx.addTable({ family: 'ip', name: 'objs' });
    tx.addChain({ ...IP, name: 'pre', type: 'filter', hook: 'prerouting', priority: 0 });
    tx.addObject({ ...IP, name: 'ftp', type: 'ct helper', helper: 'ftp', protocol: 'tcp', l3proto: 'ip' });
    tx.addObject({ ...IP, name: 'short', type: 'ct timeout', protocol: 'tcp', l3proto: 'ip', policy: { established: 100, close: 4 } });
    tx.addObject({ ...IP, name: 'udp', type: 'ct timeout', protocol: 'udp', policy: { replied: 10 } });
    tx.addObject({ ...IP, name: 'exp', type: 'ct expectation', protocol: 'tcp', dport: 5000, timeout: 1000, size: 12, l3proto: 'ip' });
    tx.addObject({ ...IP, name: 'sp', type: 'synproxy', mss: 1460, wscale: 7, timestamp: true, sackPerm: true });
    tx.addObject({ ...IP, name: 'sp0', type: 'synproxy', mss: 1400, wscale: 0 });
    tx.addTable({ family: 'inet', name: 'objs6' });
    tx.addObject({ ...INET, name: 'ftp', type: 'ct helper', helper: 'ftp', protocol: 'tcp' });
    await tx.commit();

    expect(nftTyped(box.ns('a'), 'objs')).toEqual([
      { kind: 'ct helper', family: 'ip', name: 'ftp', type: 'ftp', protocol: 'tcp', l3proto: 'ip' },
      { kind: 'ct timeout', family: 'ip', name: 'short', protocol: 'tcp', l3proto: 'ip', policy: { established: 100, close: 4 } },
      { kind: 'ct timeout', family: 'ip', name: 'udp', protocol: 'udp', l3proto: 'ip', policy: { replied: 10 } },
      { kind: 'ct expectation', family: 'ip', name: 'exp', protocol: 'tcp', dport: 5000, timeout: 1000, size: 12, l3proto: 'ip' },
      { kind: 'synproxy', family: 'ip', name: 'sp', mss: 1460, wscale: 7, flags: ['timestamp', 'sack-perm'] },
      { kind: 'synproxy', family: 'ip', name: 'sp0', mss: 1400, wscale: 0 },
    ]);
    // The table's family is the l3proto when none is given.
    expect(nftTyped(box.ns('a'), 'objs6')).toEqual([{ kind: 'ct helper', family: 'inet', name: 'ftp', type: 'ftp', protocol: 'tcp', l3proto: 'inet' }]);

    // nft's own rules refer to them by name (the kernel checks the object type).
    nft(box.ns('a'), 'add', 'rule', 'ip', 'objs', 'pre', 'tcp', 'dport', '21', 'ct', 'helper', 'set', '"ftp"');
    nft(box.ns('a'), 'add', 'rule', 'ip', 'objs', 'pre', 'ct', 'timeout', 'set', '"short"');
    nft(box.ns('a'), 'add', 'rule', 'ip', 'objs', 'pre', 'ct', 'expectation', 'set', '"exp"');
    const rules = nft(box.ns('a'), 'list', 'chain', 'ip', 'objs', 'pre');
    const ruleLines = rules
      .split('\n')
      .filter((l) => l.startsWith('\t\t') && !l.includes(' hook '))
      .map((l) => l.trim());
    expect(rules).toContain('ct helper set "ftp"');
    expect(rules).toContain('ct expectation set "exp"');
    expect(ruleLines).toEqual(['tcp dport 21 ct helper set "ftp"', 'ct timeout set "short"', 'ct expectation set "exp"']);
    const listed = await box.h('a').nft.rules.list({ ...IP, chain: 'pre' });
    // describeNftRule prints them as nft does.
    expect(listed.map((r) => describeNftRule(r))).toEqual(ruleLines);
    expect(listed.map((r) => r.expressions.find((e) => e.type === 'objref'))).toMatchObject([
      { objectType: 'ct helper', name: 'ftp' },
      { objectType: 'ct timeout', name: 'short' },
      { objectType: 'ct expectation', name: 'exp' },
    ]);
  });

  it('added by nft -f, nlkit lists them typed; added elsewhere as listed, nft shows them identical', async () => {
    nftLoad(
      box.ns('a'),
      `table ip fromnft {
        ct helper h { type "sip" protocol udp; l3proto ip; }
        ct timeout t { protocol tcp; l3proto ip; policy = { established: 100, close: 4 }; }
        ct timeout u { protocol udp; l3proto ip; policy = { unreplied: 7 }; }
        ct expectation e { protocol udp; dport 5060; timeout 2s; size 3; l3proto ip; }
        synproxy s { mss 1460 wscale 7 timestamp sack-perm }
        synproxy s2 { mss 536 wscale 2 sack-perm }
      }`,
    );
    const objects = await box.h('a').nft.objects.list({ family: 'ip', table: 'fromnft' });
    const byName = new Map(objects.map((o) => [o.name, o]));
    expect(byName.get('h')).toMatchObject({ type: 'ct helper', helper: 'sip', protocol: 'udp', l3proto: 'ip' });
    expect(byName.get('t')).toMatchObject({ type: 'ct timeout', protocol: 'tcp', l3proto: 'ip', policy: { established: 100, close: 4 } });
    // The kernel reports every state of the protocol (defaults included).
    expect(Object.keys((byName.get('t') as NftObject & { policy: object }).policy)).toContain('syn_sent');
    expect(byName.get('u')).toMatchObject({ type: 'ct timeout', protocol: 'udp', policy: { unreplied: 7 } });
    expect(byName.get('e')).toMatchObject({ type: 'ct expectation', protocol: 'udp', dport: 5060, timeout: 2000, size: 3, l3proto: 'ip' });
    expect(byName.get('s')).toEqual(expect.objectContaining({ type: 'synproxy', mss: 1460, wscale: 7, timestamp: true, sackPerm: true }));
    expect(byName.get('s2')).toEqual(expect.objectContaining({ type: 'synproxy', mss: 536, wscale: 2, sackPerm: true }));
    expect(byName.get('s2')).not.toHaveProperty('timestamp');
    expect(objects.every((o) => !('data' in o))).toBe(true);

    const tx = box.h('b').nft.transaction();
    tx.addTable({ family: 'ip', name: 'fromnft' });
    for (const o of objects) tx.addObject(o);
    await tx.commit();
    expect(nftTyped(box.ns('b'), 'fromnft')).toEqual(nftTyped(box.ns('a'), 'fromnft'));
    expect(nftTyped(box.ns('b'), 'fromnft')).toHaveLength(6);
  });

  it('refuses bad fields with a ValidationError naming them, before anything is sent', async () => {
    const bad: Array<[NftObject, string]> = [
      [{ ...IP, name: 'x', type: 'ct helper', helper: '', protocol: 'tcp' }, 'ct helper helper'],
      [{ ...IP, name: 'x', type: 'ct helper', helper: 'a-very-long-helper-name', protocol: 'tcp' }, 'ct helper helper'],
      [{ ...IP, name: 'x', type: 'ct helper', helper: 'ftp', protocol: 'nope' }, 'ct helper protocol'],
      [{ ...IP, name: 'x', type: 'ct helper', helper: 'ftp', protocol: 'tcp', l3proto: 'ipx' as 'ip' }, 'ct helper l3proto'],
      [{ ...IP, name: 'x', type: 'ct timeout', protocol: 'tcp', policy: { replied: 1 } }, 'ct timeout policy'],
      [{ ...IP, name: 'x', type: 'ct timeout', protocol: 'udp', policy: { replied: -1 } }, 'ct timeout policy replied'],
      [{ ...IP, name: 'x', type: 'ct timeout', protocol: 256 }, 'ct timeout protocol'],
      [{ ...IP, name: 'x', type: 'ct expectation', protocol: 'tcp', dport: 70000, timeout: 1, size: 1 }, 'ct expectation dport'],
      [{ ...IP, name: 'x', type: 'ct expectation', protocol: 'tcp', dport: 1, timeout: 1.5, size: 1 }, 'ct expectation timeout'],
      [{ ...IP, name: 'x', type: 'ct expectation', protocol: 'tcp', dport: 1, timeout: 1, size: 256 }, 'ct expectation size'],
      [{ ...IP, name: 'x', type: 'synproxy', mss: 65536, wscale: 1 }, 'synproxy mss'],
      [{ ...IP, name: 'x', type: 'synproxy', mss: 1460, wscale: 15 }, 'synproxy wscale'],
    ];
    for (const [o, field] of bad) {
      const tx = box.h('b').nft.transaction();
      tx.addTable({ family: 'ip', name: 'refused' });
      const err = await Promise.resolve()
        .then(() => tx.addObject(o))
        .then(() => tx.commit())
        .catch((e: unknown) => e);
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field, field).toBe(field);
    }
    expect(nftObjects(box.ns('b'), 'table', 'refused')).toEqual([]);
  });
});
