// A network operation that fails (attach, create) and whose end the intent journal cannot record either
// (a full disk): the caller gets the operation's error, with the journal's as its journalError, and the
// intent stays open for check() and reconcile(). The journal's write of an end line is made to fail.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';

vi.mock('node:fs', async (importOriginal) => (await import('../helpers/failing-journal')).failingJournalFs(importOriginal));
const { failEnd, failBegin } = await import('../helpers/failing-journal');

const { deleteNetns, netnsExists, SystemError, ValidationError } = await import('../../lib');
const { AddressInUseError } = await import('../../lib/network/ipam');
const { networks } = await import('../../lib/network/manager');
const { pendingIntents } = await import('../../lib/network/intents');

describe('a failed network operation whose end cannot be journaled keeps its own error', () => {
  const box = useNetns('host');
  let nets: Awaited<ReturnType<typeof networks>>;
  let stateDir: string;
  const sandboxes = [uniqueNetnsName('j1'), uniqueNetnsName('j2')];
  const open = () => pendingIntents(stateDir).map((p) => [p.record.op, p.live]);

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-net-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'jn', subnet: '10.91.0.0/24' });
  });
  afterEach(() => {
    failEnd.on = false;
  });
  afterAll(async () => {
    await nets?.delete('jn').catch(() => undefined);
    nets?.close();
    for (const s of sandboxes) await deleteNetns(s, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('create: the overlap refusal, not the write error', async () => {
    failEnd.on = true;
    // overlapOk skips the host's routes: the recorded network's subnet is what refuses it, after the intent began.
    const err = await nets.create({ name: 'jo', subnet: '10.91.0.0/25', overlapOk: true }).catch((e: unknown) => e);
    failEnd.on = false;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'subnet', journalError: { code: 'ENOSPC' } });
    expect(open()).toEqual([['create', false]]);
    await nets.reconcile();
    expect(open()).toEqual([]);
    expect((await nets.list()).map((n) => n.name)).toEqual(['jn']);
  });

  it('attach: the address conflict, not the write error; nothing of the failed attach is left', async () => {
    await nets.attach('jn', { sandbox: sandboxes[0], create: true, ip: '10.91.0.40' });
    failEnd.on = true;
    const err = await nets.attach('jn', { sandbox: sandboxes[1], create: true, ip: '10.91.0.40' }).catch((e: unknown) => e);
    failEnd.on = false;
    expect(err).toBeInstanceOf(AddressInUseError);
    expect(err).toMatchObject({ journalError: { code: 'ENOSPC' } });
    expect(open()).toEqual([['attach', false]]);
    await nets.reconcile();
    expect(open()).toEqual([]);
    expect((await nets.get('jn')).attachments.map((a) => a.id)).toEqual([sandboxes[0]]);
  });
});

describe('an operation whose intent cannot be journaled does not start', () => {
  const box = useNetns('le-jb');
  let nets: Awaited<ReturnType<typeof networks>>;
  let stateDir: string;
  const sandboxes = [uniqueNetnsName('jb1'), uniqueNetnsName('jb2')];
  const hostLinks = () => (ipJson(box.ns('le-jb'), 'link', 'show') as Array<{ ifname: string }>).map((l) => l.ifname).sort();

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-net-'));
    nets = await networks({ host: box.ns('le-jb'), stateDir });
    await nets.create({ name: 'jb', subnet: '10.91.1.0/24' });
    await nets.attach('jb', { sandbox: sandboxes[0], create: true });
  });
  afterEach(() => {
    failBegin.code = undefined;
  });
  afterAll(async () => {
    await nets?.delete('jb').catch(() => undefined);
    nets?.close();
    for (const s of sandboxes) await deleteNetns(s, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it.each(['ENOSPC', 'EROFS', 'EACCES'] as const)('%s: attach, create and detach fail with a SystemError and change nothing', async (code) => {
    const links = hostLinks();
    const state = await nets.state();
    failBegin.code = code;
    const errs = [
      await nets.attach('jb', { sandbox: sandboxes[1], create: true }).catch((e: unknown) => e),
      await nets.create({ name: 'jc', subnet: '10.91.2.0/24' }).catch((e: unknown) => e),
      await nets.detach('jb', sandboxes[0]).catch((e: unknown) => e),
    ];
    failBegin.code = undefined;
    for (const err of errs) {
      expect(err).toBeInstanceOf(SystemError);
      expect(err).toMatchObject({ code, syscall: expect.stringMatching(/^write\(/), cause: { code } });
      expect((err as Error).message).toMatch(/cannot record the intent .* nothing was changed/);
    }
    expect(hostLinks()).toEqual(links);
    expect(netnsExists(sandboxes[1])).toBe(false);
    expect(await nets.state()).toEqual(state);
    expect(pendingIntents(stateDir)).toEqual([]);
    expect(await nets.check()).toEqual([]);
  });
});

describe('an operation that finished but whose end cannot be journaled', () => {
  const box = useNetns('t9-je');
  let nets: Awaited<ReturnType<typeof networks>>;
  let stateDir: string;
  const sandbox = uniqueNetnsName('je1');
  const hostVeths = () => (ipJson(box.ns('t9-je'), 'link', 'show', 'type', 'veth') as Array<{ ifname: string }>).map((l) => l.ifname);

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-net-'));
    nets = await networks({ host: box.ns('t9-je'), stateDir });
    await nets.create({ name: 'je', subnet: '10.91.3.0/24' });
  });
  afterEach(() => {
    failEnd.on = false;
  });
  afterAll(async () => {
    await nets?.delete('je').catch(() => undefined);
    nets?.close();
    await deleteNetns(sandbox, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('attach: a SystemError naming the operation (code and cause kept); it counts as interrupted and reconcile undoes it', async () => {
    failEnd.on = true;
    const err = await nets.attach('je', { sandbox, create: true }).catch((e: unknown) => e);
    failEnd.on = false;
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOSPC', errno: 28, syscall: expect.stringMatching(/^write\(.*intents/), cause: { code: 'ENOSPC' } });
    expect((err as Error).message).toMatch(
      /^attach on network je: finished, but its end cannot be recorded .* counts as interrupted, and reconcile\(\) undoes it/,
    );
    // Done in the kernel and the state, but not journaled as done: check() reports it, reconcile() undoes it whole.
    expect(hostVeths()).toHaveLength(1);
    expect((await nets.check()).map((d) => [d.kind, d.id])).toEqual([['interrupted-attach', sandbox]]);
    await nets.reconcile();
    expect(hostVeths()).toEqual([]);
    expect((await nets.get('je')).attachments).toEqual([]);
    expect(netnsExists(sandbox)).toBe(false);
    expect(pendingIntents(stateDir)).toEqual([]);
    expect(await nets.check()).toEqual([]);
  });

  it('create: the same, and reconcile deletes the network', async () => {
    failEnd.on = true;
    const err = await nets.create({ name: 'je2', subnet: '10.91.4.0/24' }).catch((e: unknown) => e);
    failEnd.on = false;
    expect(err).toBeInstanceOf(SystemError);
    expect(err).toMatchObject({ code: 'ENOSPC', cause: { code: 'ENOSPC' } });
    expect((err as Error).message).toMatch(/^create on network je2: finished, but its end cannot be recorded/);
    expect((await nets.check()).map((d) => d.kind)).toEqual(['interrupted-create']);
    await nets.reconcile();
    expect((await nets.list()).map((n) => n.name)).toEqual(['je']);
    expect(await nets.check()).toEqual([]);
  });
});
