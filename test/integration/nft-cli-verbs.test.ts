// nft CLI verbs nlkit lacked: `destroy` (tx.delete* with { missingOk: true }),
// `rename chain` (tx.renameChain) and `reset counter`/`reset quota`
// (h.nft.objects.reset, h.nft.rules.reset), get element (h.nft.elements.get),
// each cross-checked with nft, on objects nft made.
import { describe, expect, it } from 'vitest';
import { NftCommandError, NotFoundError, ValidationError } from '../../lib';
import { nft, nftLoad, nftObjects } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

describe('nftables: destroy, rename chain, reset', () => {
  const box = useNetns('v');
  const h = () => box.h('v');
  const ns = () => box.ns('v');

  it('delete with { missingOk: true } removes what is there and does not fail on what is missing', async () => {
    nftLoad(
      ns(),
      `table inet d {
        set s { type ipv4_addr; elements = { 10.0.0.1, 10.0.0.2 } }
        counter c { }
        chain c1 { }
        chain c2 { }
      }`,
    );
    const T = { family: 'inet', table: 'd' } as const;
    const tx = h().nft.transaction();
    tx.deleteChain({ ...T, name: 'c1' }, { missingOk: true });
    tx.deleteChain({ ...T, name: 'gone' }, { missingOk: true });
    tx.deleteSet({ ...T, name: 'gone' }, { missingOk: true });
    tx.deleteObject({ ...T, name: 'gone', type: 'quota' }, { missingOk: true });
    tx.deleteObject({ ...T, name: 'c', type: 'counter' }, { missingOk: true });
    tx.deleteElements({ ...T, name: 's' }, [{ key: '10.0.0.1' }, { key: '10.9.9.9' }], { missingOk: true });
    tx.deleteTable({ family: 'ip', name: 'gone' }, { missingOk: true });
    expect(tx.describe()).toEqual([
      'destroy chain inet d c1',
      'destroy chain inet d gone',
      'destroy set inet d gone',
      'destroy quota inet d gone',
      'destroy counter inet d c',
      'destroy elements from set inet d s',
      'destroy table ip gone',
    ]);
    await tx.commit();
    expect(nftObjects(ns(), 'chain', 'd').map((c) => c.name)).toEqual(['c2']);
    expect(nftObjects(ns(), 'counter', 'd')).toEqual([]);
    expect(nftObjects(ns(), 'set', 'd')[0].elem).toEqual(['10.0.0.2']);

    // Without missingOk the same delete fails, naming the command.
    const strict = h().nft.transaction();
    strict.deleteChain({ ...T, name: 'gone' });
    const err = await strict.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NftCommandError);
    expect((err as NftCommandError).message).toContain('delete chain inet d gone');

    const whole = h().nft.transaction();
    whole.deleteTable({ family: 'inet', name: 'd' }, { missingOk: true });
    await whole.commit();
    expect(nftObjects(ns(), 'table', 'd')).toEqual([]);
    expect(() =>
      h()
        .nft.transaction()
        .deleteTable({ family: 'inet', name: 'd' }, { missinOk: true } as never),
    ).toThrow(ValidationError);
  });

  it('renameChain renames by name or handle; jumps to it follow', async () => {
    nftLoad(
      ns(),
      `table ip r {
        chain target { counter; }
        chain other { }
        chain input { type filter hook input priority 0; jump target; }
      }`,
    );
    const T = { family: 'ip', table: 'r' } as const;
    const handleBefore = (await h().nft.chains.get({ ...T, name: 'target' })).handle;
    const tx = h().nft.transaction();
    tx.renameChain({ ...T, name: 'target' }, 'renamed');
    const other = await h().nft.chains.get({ ...T, name: 'other' });
    tx.renameChain({ ...T, handle: other.handle }, 'other2');
    expect(tx.describe()[0]).toBe('rename chain ip r target renamed');
    await tx.commit();
    expect(
      nftObjects(ns(), 'chain', 'r')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['input', 'other2', 'renamed']);
    expect(nft(ns(), 'list', 'chain', 'ip', 'r', 'input')).toContain('jump renamed');
    expect((await h().nft.chains.get({ ...T, name: 'renamed' })).handle).toBe(handleBefore);
    expect(nft(ns(), 'list', 'chain', 'ip', 'r', 'renamed')).toContain('counter');

    const missing = h().nft.transaction();
    missing.renameChain({ ...T, name: 'nope' }, 'x');
    await expect(missing.commit()).rejects.toBeInstanceOf(NotFoundError);
    expect(() =>
      h()
        .nft.transaction()
        .renameChain({ ...T, name: 'renamed' }, 'bad\nname'),
    ).toThrow(ValidationError);
  });

  it('objects.reset returns a counter or quota as it was and zeroes it in the kernel', async () => {
    nftLoad(
      ns(),
      `table inet z {
        counter c { packets 5 bytes 700 }
        quota q { over 1000 bytes used 400 bytes }
      }`,
    );
    const T = { family: 'inet', table: 'z' } as const;
    expect(await h().nft.objects.reset({ ...T, name: 'c', type: 'counter' })).toMatchObject({ type: 'counter', packets: 5n, bytes: 700n });
    expect(nftObjects(ns(), 'counter', 'z')[0]).toMatchObject({ name: 'c', packets: 0, bytes: 0 });
    expect(await h().nft.objects.get({ ...T, name: 'c', type: 'counter' })).toMatchObject({ packets: 0n, bytes: 0n });

    expect(await h().nft.objects.reset({ ...T, name: 'q', type: 'quota' })).toMatchObject({ type: 'quota', bytes: 1000n, consumed: 400n, invert: true });
    expect(nftObjects(ns(), 'quota', 'z')[0]).toMatchObject({ name: 'q', bytes: 1000, used: 0, inv: true });

    await expect(h().nft.objects.reset({ ...T, name: 'nope', type: 'counter' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rules.reset returns a rule as it was and zeroes its counter and quota in the kernel', async () => {
    nftLoad(ns(), 'table ip rr {\n chain c {\n counter packets 9 bytes 900 quota 5000 bytes used 123 bytes accept\n }\n}\n');
    const [r] = await h().nft.rules.list({ family: 'ip', table: 'rr', chain: 'c' });
    const before = await h().nft.rules.reset(r);
    expect(before.expressions).toMatchObject([
      { type: 'counter', packets: 9n, bytes: 900n },
      { type: 'quota', bytes: 5000n, consumed: 123n },
      { type: 'immediate' },
    ]);
    expect(nft(ns(), 'list', 'chain', 'ip', 'rr', 'c')).toContain('counter packets 0 bytes 0 quota 5000 bytes accept');
    await expect(h().nft.rules.reset({ ...r, handle: r.handle! + 1000 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('elements.get returns one element by key as the kernel stores it; NotFoundError / undefined when absent', async () => {
    nftLoad(
      ns(),
      `table inet e {
        set hosts { type ipv4_addr; flags timeout; elements = { 10.0.0.1 timeout 1h comment "db", 10.0.0.2 } }
        map svc { type ipv4_addr . inet_service : verdict; elements = { 10.0.0.9 . 80 : accept, 10.0.0.9 . 443 : drop } }
        map marks { type ifname : mark; elements = { "veth0" : 0x10 } }
        set nets { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 172.16.0.0-172.16.0.9, 192.168.1.1 } }
      }`,
    );
    const T = { family: 'inet', table: 'e' } as const;
    const db = await h().nft.elements.get({ ...T, name: 'hosts', key: '10.0.0.1' });
    expect(db).toMatchObject({ key: '10.0.0.1', comment: 'db', timeout: 3_600_000 });
    expect(db.expires).toBeGreaterThan(0);
    expect(nft(ns(), 'get', 'element', 'inet', 'e', 'hosts', '{ 10.0.0.1 }')).toContain('10.0.0.1 timeout 1h');
    expect(await h().nft.elements.get({ ...T, name: 'svc', key: ['10.0.0.9', 443] })).toMatchObject({ key: ['10.0.0.9', 443], verdict: { code: 'drop' } });
    expect(await h().nft.elements.get({ ...T, name: 'marks', key: 'veth0' })).toMatchObject({ key: 'veth0', value: 0x10 });

    await expect(h().nft.elements.get({ ...T, name: 'hosts', key: '10.0.0.3' })).rejects.toBeInstanceOf(NotFoundError);
    expect(() => nft(ns(), 'get', 'element', 'inet', 'e', 'hosts', '{ 10.0.0.3 }')).toThrow();
    expect(await h().nft.elements.find({ ...T, name: 'svc', key: ['10.0.0.9', 22] })).toBeUndefined();
    expect(await h().nft.elements.find({ ...T, name: 'nope', key: '10.0.0.1' })).toBeUndefined();
    // Interval sets: the range containing the key, as nft get element prints it.
    expect(await h().nft.elements.get({ ...T, name: 'nets', key: '10.1.2.3' })).toEqual({ key: '10.0.0.0/8' });
    expect(nft(ns(), 'get', 'element', 'inet', 'e', 'nets', '{ 10.1.2.3 }')).toContain('elements = { 10.0.0.0/8 }');
    expect(await h().nft.elements.get({ ...T, name: 'nets', key: '172.16.0.5' })).toEqual({ key: '172.16.0.0-172.16.0.9' });
    expect(await h().nft.elements.get({ ...T, name: 'nets', key: '192.168.1.1' })).toEqual({ key: '192.168.1.1' });
    expect(await h().nft.elements.find({ ...T, name: 'nets', key: '11.0.0.0' })).toBeUndefined();
    await expect(h().nft.elements.get({ ...T, name: 'hosts', key: '10.0.0.1', tabel: 'x' } as never)).rejects.toBeInstanceOf(ValidationError);
  });
});
