// nftables transactions against the kernel: all-or-nothing commits, errors
// that name the failing command, optimistic concurrency on the ruleset
// generation, handles from echoes, rule placement, a 100,000-rule commit,
// and typed change events.
import { describe, expect, it } from 'vitest';
import { GenerationMismatchError, NetlinkOverrunError, NftCommandError, ValidationError, not, rule } from '../../lib';
import type { NftEvent, NftStreamEvent } from '../../lib/nftables/events';
import { rulesFromTemplates } from '../../lib/nftables/rule-templates';
import { nft, nftObjects, nftRuleLines } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

/** The table an event is about. */
function tableOf(e: NftEvent): string {
  switch (e.type) {
    case 'table':
      return e.table.name;
    case 'elements':
      return e.table;
    case 'chain':
      return e.chain.table;
    case 'set':
      return e.set.table;
    case 'object':
      return e.object.table;
    case 'rule':
      return e.rule.table;
    case 'generation':
      return '';
  }
}

describe('nftables transactions', () => {
  const box = useNetns('tx');
  const ns = () => box.ns('tx');
  const h = () => box.h('tx');
  const tables = () => nft(ns(), 'list', 'tables');

  it('commits atomically and returns kernel-assigned handles and the new generation', async () => {
    const before = await h().nft.generation.get();
    const tx = h().nft.transaction();
    const t = tx.addTable({ family: 'inet', name: 'filter' });
    const c = tx.addChain({ family: 'inet', table: 'filter', name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
    const s = tx.addSet({ family: 'inet', table: 'filter', name: 'allowed', keyType: 'ipv4_addr', flags: ['interval'] }, [{ key: '10.0.0.0/8' }]);
    const o = tx.addObject({ family: 'inet', table: 'filter', name: 'hits', type: 'counter' });
    const r = tx.addRule({
      family: 'inet',
      table: 'filter',
      chain: 'input',
      rule: rule().ip({ saddr: '@allowed' }).counter().accept().comment('from allowed'),
    });
    const res = await tx.commit();
    expect(res.generation).toBe(before.id + 1);
    expect((await h().nft.generation.get()).id).toBe(before.id + 1);
    for (const i of [t, c, s, o, r]) expect(res.results[i].handle).toBeGreaterThan(0);
    expect(res.results[r].object).toMatchObject({ chain: 'input', comment: 'from allowed', handle: res.results[r].handle });
    // The handles are the ones nft sees.
    const rules = nftObjects(ns(), 'rule', 'filter');
    expect(rules).toMatchObject([{ chain: 'input', handle: res.results[r].handle, comment: 'from allowed' }]);
    expect(nftObjects(ns(), 'chain', 'filter')[0].handle).toBe(res.results[c].handle);
  });

  it('applies nothing when a command in the middle fails, and names that command', async () => {
    const gen = (await h().nft.generation.get()).id;
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'partial' });
    tx.addChain({ family: 'inet', table: 'partial', name: 'c' });
    tx.addRule({ family: 'inet', table: 'partial', chain: 'c', rule: rule().accept() });
    tx.addRule({ family: 'inet', table: 'partial', chain: 'missing', rule: rule().tcp({ dport: 22 }).accept() });
    tx.addRule({ family: 'inet', table: 'partial', chain: 'c', rule: rule().drop() });
    const err = await tx.commit().catch((e) => e);
    expect(err).toBeInstanceOf(NftCommandError);
    expect(err).toMatchObject({ command: 3, description: 'add rule inet partial missing', code: 'ENOENT', attribute: 'chain' });
    expect(err.message).toContain('command #3 (add rule inet partial missing');
    expect(tables()).not.toContain('partial');
    expect((await h().nft.generation.get()).id).toBe(gen);
    // A jump to a chain that does not exist points at the expression.
    const tx2 = h().nft.transaction();
    tx2.addTable({ family: 'inet', name: 'partial' });
    tx2.addChain({ family: 'inet', table: 'partial', name: 'c' });
    tx2.addRule({ family: 'inet', table: 'partial', chain: 'c', rule: rule().jump('nowhere') });
    await expect(tx2.commit()).rejects.toMatchObject({ command: 2, code: 'ENOENT', attribute: 'expression #0 (immediate)' });
    // Elements for a set that does not exist: that command is named (nlkit looks the set up before sending anything).
    const tx3 = h().nft.transaction();
    tx3.addTable({ family: 'inet', name: 'partial' });
    tx3.addElements({ family: 'inet', table: 'partial', name: 'nope' }, [{ key: 22 }]);
    const err3 = await tx3.commit().catch((e) => e);
    expect(err3).toBeInstanceOf(NftCommandError);
    expect(err3).toMatchObject({ command: 1, description: 'add elements to set inet partial nope', code: 'ENOENT' });
    expect(err3.message).toContain('set inet partial nope does not exist');
    expect(tables()).not.toContain('partial');
    expect(tables()).not.toContain('partial');
  });

  it('names the refused rule of a 1,000-rule batch written in place, also when that rule was written from a template', async () => {
    const add = (tx: ReturnType<ReturnType<typeof h>['nft']['transaction']>, chain: string, i: number) =>
      tx.addRule({
        family: 'ip',
        table: 'many',
        chain,
        rule: rule()
          .tcp({ dport: 10000 + i })
          .dnat({ to: `10.88.${i >> 8}.${i & 255 || 1}`, port: 80 }),
      });
    const batch = (refused: number[]) => {
      const tx = h().nft.transaction();
      tx.addTable({ family: 'ip', name: 'many' });
      tx.addChain({ family: 'ip', table: 'many', name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
      for (let i = 0; i < 1000; i++) add(tx, refused.includes(i) ? 'missing' : 'pre', i);
      return tx;
    };
    // Rule 737 goes to a chain that does not exist (the first rule of its chain: written the ordinary way).
    const err = await batch([737])
      .commit({ echo: 'none' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(NftCommandError);
    expect(err).toMatchObject({ command: 2 + 737, description: 'add rule ip many missing', code: 'ENOENT', attribute: 'chain' });
    // Three rules to the missing chain make its template; in the next batch the refused rule is written from it.
    await batch([5, 6, 7])
      .commit({ echo: 'none' })
      .catch(() => undefined);
    const before = rulesFromTemplates();
    const err2 = await batch([512])
      .commit()
      .catch((e) => e);
    expect(rulesFromTemplates() - before).toBe(1000); // every rule (both chains have their template by now): 512 too
    expect(err2).toMatchObject({ command: 2 + 512, description: 'add rule ip many missing', code: 'ENOENT', attribute: 'chain' });
    expect(tables()).not.toContain('many');
  });

  it('refuses invalid input before sending anything', () => {
    const tx = h().nft.transaction();
    expect(() => tx.addRule({ family: 'inet', table: 'filter', chain: 'input', rule: rule().ip({ saddr: '10.0.0.256' }) })).toThrow(ValidationError);
    expect(() => tx.addChain({ family: 'inet', table: 'filter', name: 'x', type: 'filter', hook: 'sideways' as never })).toThrow(ValidationError);
    expect(tx.size).toBe(0);
  });

  it('commits only on the expected generation (optimistic concurrency)', async () => {
    const { id } = await h().nft.generation.get();
    // Someone else changes the ruleset in between.
    nft(ns(), 'add', 'table', 'inet', 'intruder');
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'mine' });
    const err = await tx.commit({ expectGeneration: id }).catch((e) => e);
    expect(err).toBeInstanceOf(GenerationMismatchError);
    expect(err.expected).toBe(id);
    expect(tables()).not.toContain('mine');
    // Re-read and retry.
    const fresh = await h().nft.generation.get();
    const res = await tx.commit({ expectGeneration: fresh.id });
    expect(res.generation).toBe(fresh.id + 1);
    expect(tables()).toContain('table inet mine');
  });

  it('places rules: append, insert at start, before/after a handle or a rule of the same commit, by index, replace, delete', async () => {
    const at = { family: 'inet' as const, table: 'mine', chain: 'c' };
    const tx = h().nft.transaction();
    tx.addChain({ family: 'inet', table: 'mine', name: 'c' });
    const b = tx.addRule({ ...at, rule: rule().tcp({ dport: 2 }).accept() });
    tx.insertRule({ ...at, rule: rule().tcp({ dport: 1 }).accept() });
    tx.addRule({ ...at, rule: rule().tcp({ dport: 4 }).accept() });
    tx.addRule({ ...at, rule: rule().tcp({ dport: 3 }).accept() }, { after: { command: b } });
    const res = await tx.commit();
    const ports = () => nftRuleLines(ns(), 'inet', 'mine');
    expect(ports()).toEqual(['tcp dport 1 accept', 'tcp dport 2 accept', 'tcp dport 3 accept', 'tcp dport 4 accept']);

    const h2 = res.results[b].handle!;
    const tx2 = h().nft.transaction();
    tx2.insertRule({ ...at, rule: rule().udp({ dport: 20 }).accept() }, { before: h2 });
    tx2.addRule({ ...at, rule: rule().udp({ dport: 21 }).accept() }, { after: h2 });
    tx2.insertRule({ ...at, rule: rule().udp({ dport: 0 }).accept() }, { index: 0 });
    // Indexes count the rules the chain had before this transaction.
    tx2.insertRule({ ...at, rule: rule().udp({ dport: 99 }).accept() }, { index: 3 });
    await tx2.commit();
    expect(ports()).toEqual([
      'udp dport 0 accept',
      'tcp dport 1 accept',
      'udp dport 20 accept',
      'tcp dport 2 accept',
      'udp dport 21 accept',
      'tcp dport 3 accept',
      'udp dport 99 accept',
      'tcp dport 4 accept',
    ]);

    const listed = await h().nft.rules.list(at);
    const tx3 = h().nft.transaction();
    tx3.replaceRule({ ...at, handle: listed[1].handle!, rule: rule().tcp({ dport: 1 }).drop().comment('replaced') });
    tx3.deleteRule({ ...at, handle: listed[0].handle! });
    tx3.deleteRule({ ...at, handle: listed[5].handle! });
    await tx3.commit();
    expect(ports()).toEqual([
      'tcp dport 1 drop comment "replaced"',
      'udp dport 20 accept',
      'tcp dport 2 accept',
      'udp dport 21 accept',
      'udp dport 99 accept',
      'tcp dport 4 accept',
    ]);
    const tooFar = h().nft.transaction();
    tooFar.insertRule({ ...at, rule: rule().accept() }, { index: 99 });
    await expect(tooFar.commit()).rejects.toThrow(/only 6 rules/);
    expect((await h().nft.rules.list(at))[0].handle).toBe(listed[1].handle);
  });

  it('adds and deletes elements, flushes, and deletes objects, sets, chains and tables', async () => {
    const set = { family: 'inet' as const, table: 'mine', name: 'blocked' };
    const tx = h().nft.transaction();
    tx.addSet({ ...set, keyType: ['ipv4_addr', 'inet_service'], flags: ['timeout'] });
    tx.addElements(set, [{ key: ['10.0.0.1', 53] }, { key: ['10.0.0.2', 53], timeout: 60_000, comment: 'temporary' }]);
    tx.addObject({ family: 'inet', table: 'mine', name: 'q', type: 'quota', bytes: 1000n });
    await tx.commit();
    // Elements of a set that already exists: its types are read from the kernel.
    const tx2 = h().nft.transaction();
    tx2.addElements(set, [{ key: ['10.0.0.3', 80] }]);
    tx2.deleteElements(set, [{ key: ['10.0.0.1', 53] }]);
    await tx2.commit();
    const els = await h().nft.elements.list(set);
    expect(els.map(({ expires: _e, ...e }) => e)).toEqual([{ key: ['10.0.0.2', 53], timeout: 60_000, comment: 'temporary' }, { key: ['10.0.0.3', 80] }]);
    expect(els[0].expires).toBeGreaterThan(0);

    const tx3 = h().nft.transaction();
    tx3.flushSet(set);
    await tx3.commit();
    expect(await h().nft.elements.list(set)).toEqual([]);

    const tx4 = h().nft.transaction();
    tx4.deleteSet(set);
    tx4.deleteObject({ family: 'inet', table: 'mine', name: 'q', type: 'quota' });
    tx4.flushChain({ family: 'inet', table: 'mine', name: 'c' });
    tx4.deleteChain({ family: 'inet', table: 'mine', name: 'c' });
    await tx4.commit();
    expect(nft(ns(), 'list', 'table', 'inet', 'mine').replace(/\s+/g, ' ')).toBe('table inet mine { } ');
    const tx5 = h().nft.transaction();
    tx5.deleteTable({ family: 'inet', name: 'mine' });
    tx5.deleteTable({ family: 'inet', name: 'intruder' });
    await tx5.commit();
    expect(tables()).not.toMatch(/mine|intruder/);
  });

  it('commits 100,000 rules in one transaction', async () => {
    const N = 100_000;
    const started = Date.now();
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'big' });
    tx.addChain({ family: 'inet', table: 'big', name: 'c' });
    for (let i = 0; i < N; i++) {
      tx.addRule({
        family: 'inet',
        table: 'big',
        chain: 'c',
        rule: rule()
          .ip({ saddr: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` })
          .tcp({ dport: 80 })
          .accept(),
      });
    }
    const built = Date.now();
    const res = await tx.commit();
    const committed = Date.now();
    // Echoing 100k rules would overflow the receive buffer: they come back without handles.
    expect(res.rulesEchoed).toBe(false);
    expect(res.results[0].handle).toBeGreaterThan(0);
    const rules = await h().nft.rules.list({ family: 'inet', table: 'big' });
    console.log(`100k rules: build ${built - started} ms, commit ${committed - built} ms, list ${Date.now() - committed} ms`);
    expect(rules).toHaveLength(N);
    expect(rules[N - 1].expressions).toEqual(rule().ip({ saddr: '10.1.134.159' }).tcp({ dport: 80 }).accept().toExpressions('inet'));
    expect(
      nft(ns(), 'list', 'chain', 'inet', 'big', 'c')
        .split('\n')
        .filter((l) => l.includes('tcp dport 80 accept')),
    ).toHaveLength(N);
  }, 180_000); // builds, commits, lists and nft-lists 100,000 rules: a volume test, not a timing assert (58 s once on a loaded host)

  it('fails a 100,000-command transaction whose every command fails with the first error, applying nothing', async () => {
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'doomed' });
    for (let i = 0; i < 100_000; i++) tx.addRule({ family: 'inet', table: 'doomed', chain: 'missing', rule: rule().accept() });
    const err = await tx.commit().catch((e) => e);
    expect(err).toBeInstanceOf(NftCommandError);
    expect(err).toMatchObject({ command: 1, code: 'ENOENT' });
    expect(tables()).not.toContain('doomed');
    const tx2 = h().nft.transaction();
    tx2.deleteTable({ family: 'inet', name: 'big' });
    await tx2.commit();
  }, 180_000); // 100,000 commands built, sent and refused by the kernel, then the 100,000-rule table deleted: not a timing assert

  it('streams typed ruleset events { type, action }, including changes made by nft', async () => {
    const events = h().nft.events.subscribe();
    await events.ready; // joined: changes from here on are seen
    const seen: NftStreamEvent[] = [];
    const done = (async () => {
      for await (const e of events) {
        seen.push(e);
        if (e.type === 'rule' && e.action === 'del') break;
      }
    })();
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'ev' });
    tx.addChain({ family: 'inet', table: 'ev', name: 'c' });
    tx.addSet({ family: 'inet', table: 'ev', name: 's', keyType: 'inet_service' }, [{ key: 443 }]);
    tx.addRule({
      family: 'inet',
      table: 'ev',
      chain: 'c',
      rule: rule()
        .tcp({ dport: not('@s') })
        .drop(),
    });
    await tx.commit();
    nft(ns(), 'add', 'element', 'inet', 'ev', 's', '{ 8443 }');
    const handle = (await h().nft.rules.list({ family: 'inet', table: 'ev' }))[0].handle!;
    nft(ns(), 'delete', 'rule', 'inet', 'ev', 'c', 'handle', String(handle));
    await done;
    const brief = seen.map((e) => `${'action' in e ? e.action : ''} ${e.type}`);
    expect(brief).toEqual(['new table', 'new chain', 'new set', 'new elements', 'new rule', 'new generation', 'new elements', 'new generation', 'del rule']);
    expect(seen[3]).toMatchObject({ type: 'elements', table: 'ev', set: 's', elements: [{ key: 443 }] });
    expect(seen[4]).toMatchObject({
      type: 'rule',
      rule: {
        table: 'ev',
        chain: 'c',
        handle,
        expressions: rule()
          .tcp({ dport: not('@s') })
          .drop()
          .toExpressions('inet'),
      },
    });
    expect(seen[6]).toMatchObject({ type: 'elements', elements: [{ key: 8443 }] });
    expect(seen[8]).toMatchObject({ type: 'rule', action: 'del', rule: { handle } });
    events.close();
    const tx2 = h().nft.transaction();
    tx2.deleteTable({ family: 'inet', name: 'ev' });
    await tx2.commit();
  });

  it('reports an interval added or deleted as the range it is, whoever made it (start and end come as separate notifications)', async () => {
    const setup = h().nft.transaction();
    setup.addTable({ family: 'ip', name: 'iv' });
    setup.addSet({ family: 'ip', table: 'iv', name: 's', keyType: 'ipv4_addr', flags: ['interval'] });
    await setup.commit();
    const events = h().nft.events.subscribe();
    await events.ready;
    const seen: string[] = [];
    const done = (async () => {
      let generations = 0;
      for await (const e of events) {
        if (e.type === 'elements') seen.push(`${e.action} ${e.elements.map((x) => String(x.key)).join(' ')}`);
        if (e.type === 'generation' && ++generations === 3) break;
      }
    })();
    // nft notifies each range's end before its start; nlkit's own commit the other way round.
    nft(ns(), 'add', 'element', 'ip', 'iv', 's', '{ 10.0.0.0/8, 172.16.0.1, 192.168.1.0/24 }');
    nft(ns(), 'delete', 'element', 'ip', 'iv', 's', '{ 10.0.0.0/8 }');
    const tx = h().nft.transaction();
    tx.addElements({ family: 'ip', table: 'iv', name: 's' }, [{ key: '10.1.0.0/16' }, { key: '10.3.0.0-10.3.0.9' }]);
    await tx.commit();
    await done;
    events.close();
    expect(seen).toEqual(['new 10.0.0.0/8 172.16.0.1 192.168.1.0/24', 'del 10.0.0.0/8', 'new 10.1.0.0/16 10.3.0.0-10.3.0.9']);
    const cleanup = h().nft.transaction();
    cleanup.deleteTable({ family: 'ip', name: 'iv' });
    await cleanup.commit();
  });

  it('starts with the current ruleset as new events, then synced, with includeExisting', async () => {
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'pre' });
    tx.addChain({ family: 'inet', table: 'pre', name: 'c' });
    tx.addSet({ family: 'inet', table: 'pre', name: 's', keyType: 'ipv4_addr' }, [{ key: '10.0.0.1' }]);
    tx.addObject({ family: 'inet', table: 'pre', name: 'n', type: 'counter' });
    tx.addRule({ family: 'inet', table: 'pre', chain: 'c', rule: rule().ip({ saddr: '@s' }).accept() });
    await tx.commit();
    const events = h().nft.events.subscribe({ includeExisting: true });
    const seen: string[] = [];
    for await (const e of events) {
      if (e.type === 'synced') break;
      if (e.type === 'overrun' || e.type === 'generation') continue;
      if (tableOf(e) === 'pre') seen.push(`${e.action} ${e.type}`);
    }
    expect(seen).toEqual(['new table', 'new chain', 'new set', 'new elements', 'new object', 'new rule']);
    // The stream goes on with live changes after synced.
    const live = h().nft.events.subscribe({ includeExisting: true });
    await live.ready; // joined: the delete below is seen
    let synced = false;
    const next = (async () => {
      for await (const e of live) {
        if (e.type === 'synced') synced = true;
        else if (synced && e.type === 'table') return e;
      }
    })();
    const del = h().nft.transaction();
    del.deleteTable({ family: 'inet', name: 'pre' });
    await del.commit();
    expect(await next).toMatchObject({ type: 'table', action: 'del', table: { name: 'pre' } });
    live.close();
  });

  it('marks where a consumer that did not read lost events with an overrun event, and goes on', async () => {
    const events = h().nft.events.subscribe({ maxQueued: 3 });
    await events.ready; // joined: changes from here on are seen
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'slow' });
    for (let i = 0; i < 10; i++) tx.addChain({ family: 'inet', table: 'slow', name: `c${i}` });
    await tx.commit();
    // 12 notifications arrived with nobody reading: the backlog was dropped at the limit.
    await new Promise((r) => setTimeout(r, 100));
    const got: string[] = [];
    let marker = false;
    for await (const e of events) {
      got.push(e.type === 'overrun' || e.type === 'synced' ? e.type : `${e.action} ${e.type}`);
      if (e.type === 'overrun' && !marker) {
        // One small change after the gap: its notifications (table, generation) fit the queue of 3.
        marker = true;
        const tx2 = h().nft.transaction();
        tx2.addTable({ family: 'inet', name: 'marker' });
        await tx2.commit();
      }
      if (e.type === 'table' && e.table.name === 'marker') break;
    }
    const gap = got.indexOf('overrun');
    expect(gap).toBeGreaterThanOrEqual(0);
    expect(gap).toBeLessThanOrEqual(3); // what came before the gap: at most maxQueued
    expect(got.slice(gap + 1)).toContain('new table'); // the stream carries on after the gap
    const cleanup = h().nft.transaction();
    cleanup.deleteTable({ family: 'inet', name: 'slow' });
    cleanup.deleteTable({ family: 'inet', name: 'marker' });
    await cleanup.commit();
  });

  it('resyncs after an overrun with resyncOnOverrun: the ruleset as new events, then synced', async () => {
    const events = h().nft.events.subscribe({ maxQueued: 3, resyncOnOverrun: true });
    await events.ready; // joined: changes from here on are seen
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'resync' });
    for (let i = 0; i < 10; i++) tx.addChain({ family: 'inet', table: 'resync', name: `c${i}` });
    await tx.commit();
    await new Promise((r) => setTimeout(r, 100));
    const got: string[] = [];
    for await (const e of events) {
      got.push(e.type === 'overrun' || e.type === 'synced' || tableOf(e) === 'resync' ? e.type : 'other');
      if (e.type === 'synced') break;
    }
    const gap = got.indexOf('overrun');
    expect(gap).toBeGreaterThanOrEqual(0);
    // After the gap, the whole ruleset again: the table and its ten chains.
    expect(got.slice(gap + 1).filter((t) => t === 'chain')).toHaveLength(10);
    expect(got.slice(gap + 1)).toContain('table');
    const tx2 = h().nft.transaction();
    tx2.deleteTable({ family: 'inet', name: 'resync' });
    await tx2.commit();
  });

  it('deprecated h.nft.events(): the old kind/change fields, and NetlinkOverrunError at a gap', async () => {
    const old = h().nft.events();
    const first = (async () => (await old.next()).value)();
    const tx = h().nft.transaction();
    tx.addTable({ family: 'inet', name: 'legacy' });
    await tx.commit();
    expect(await first).toMatchObject({ kind: 'table', change: 'add', type: 'table', action: 'new', table: { name: 'legacy' } });
    old.close();

    const events = h().nft.events({ maxQueued: 3 });
    const tx1 = h().nft.transaction();
    for (let i = 0; i < 10; i++) tx1.addChain({ family: 'inet', table: 'legacy', name: `c${i}` });
    await tx1.commit();
    await new Promise((r) => setTimeout(r, 100));
    const got: string[] = [];
    const err = await (async () => {
      for await (const e of events) got.push(`${e.change} ${e.kind}`);
    })().catch((e) => e);
    expect(err).toBeInstanceOf(NetlinkOverrunError);
    expect(err.message).toMatch(/list the ruleset again/);
    expect(got.length).toBeLessThanOrEqual(3);
    expect(() => h().nft.events({ includeExisting: true } as never)).toThrow(ValidationError);
    const tx2 = h().nft.transaction();
    tx2.deleteTable({ family: 'inet', name: 'legacy' });
    await tx2.commit();
  });
});
