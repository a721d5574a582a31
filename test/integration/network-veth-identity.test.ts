// An attachment's host veth is recorded by name. Once it is gone, the name may reach another link: one
// carrying it as an altname, or a foreign veth renamed to it. detach() (one of several, which moves veths
// by name to a scratch group), network delete and reconcile() leave such a link untouched, and say why
// (a process warning for detach, a ValidationError naming the link for reconcile's rebuild).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns, ValidationError } from '../../lib';
import { FOREIGN_LINK_WARNING } from '../../lib/network/host-veth';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';

describe("a link that took an attachment's host veth name is not its veth", () => {
  const box = useNetns('le-host');
  let nets: NetworkManager;
  let stateDir: string;
  const made: string[] = [];
  const sandbox = (label: string) => {
    const n = uniqueNetnsName(label);
    made.push(n);
    return n;
  };
  const ipHost = (...args: string[]) => execFileSync('ip', ['-n', box.ns('le-host'), ...args]);
  type IpLink = { ifname: string; ifindex: number; group: string; altnames?: string[]; link_type: string };
  const links = () => ipJson(box.ns('le-host'), '-d', 'link', 'show') as IpLink[];
  const byIndex = (i: number) => links().find((l) => l.ifindex === i);
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-net-'));
    nets = await networks({ host: box.ns('le-host'), stateDir });
    await nets.create({ name: 'vid', subnet: '10.93.0.0/24' });
    process.on('warning', onWarning);
  });
  afterEach(() => {
    warnings.length = 0;
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    await nets?.delete('vid', { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const s of made) await deleteNetns(s, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  /** Two sandboxes attached (so detaching one is a partial detach); the first one's host veth deleted. */
  async function twoAttachedFirstVethGone(): Promise<[string, string, string]> {
    const [a, b] = [sandbox('va'), sandbox('vb')];
    const att = await nets.attach('vid', { sandbox: a, create: true });
    await nets.attach('vid', { sandbox: b, create: true });
    ipHost('link', 'del', att.hostIfname);
    return [a, b, att.hostIfname];
  }
  const foreignWarnings = () => warnings.filter((w) => (w as Error & { code?: string }).code === FOREIGN_LINK_WARNING).map((w) => w.message);

  it('detach() leaves a link carrying the name as an altname untouched, and warns why', async () => {
    const [a, b, name] = await twoAttachedFirstVethGone();
    ipHost('link', 'add', 'le-alt', 'type', 'bridge');
    ipHost('link', 'property', 'add', 'dev', 'le-alt', 'altname', name);
    const index = links().find((l) => l.ifname === 'le-alt')?.ifindex ?? 0;
    expect(await nets.detach('vid', a)).toBe(true);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    expect(byIndex(index)).toMatchObject({ ifname: 'le-alt', group: 'default', altnames: [name] });
    expect(foreignWarnings()).toEqual([expect.stringMatching(new RegExp(`${name}.*le-alt \\(index ${index}\\) carries the name as an altname`))]);
    // The other attachment is untouched too; the detached one is forgotten.
    expect((await nets.get('vid')).attachments.map((x) => x.id)).toEqual([b]);
    expect(await nets.detach('vid', b)).toBe(true);
    ipHost('link', 'del', 'le-alt');
  });

  it('detach() leaves a foreign veth renamed to the name untouched, and warns why', async () => {
    const [a, b, name] = await twoAttachedFirstVethGone();
    ipHost('link', 'add', 'le-fa', 'type', 'veth', 'peer', 'name', 'le-fb');
    ipHost('link', 'set', 'le-fa', 'name', name);
    const index = links().find((l) => l.ifname === name)?.ifindex ?? 0;
    expect(await nets.detach('vid', a)).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(byIndex(index)).toMatchObject({ ifname: name, group: 'default' });
    expect(links().some((l) => l.ifname === 'le-fb')).toBe(true);
    expect(foreignWarnings()).toEqual([expect.stringMatching(/has alias "" and group 0, not "nlkit:[0-9a-f]{8}:vid\//)]);
    expect(await nets.detach('vid', b)).toBe(true);
    ipHost('link', 'del', name);
  });

  it('reconcile() does not replace a foreign veth holding the name: a ValidationError names it; delete() leaves it', async () => {
    const a = sandbox('vc');
    const att = await nets.attach('vid', { sandbox: a, create: true });
    ipHost('link', 'del', att.hostIfname);
    ipHost('link', 'add', 'le-ra', 'type', 'veth', 'peer', 'name', 'le-rb');
    ipHost('link', 'set', 'le-ra', 'name', att.hostIfname);
    const index = links().find((l) => l.ifname === att.hostIfname)?.ifindex ?? 0;
    const drift = await nets.check();
    expect(drift).toContainEqual(expect.objectContaining({ kind: 'veth-missing', id: a, detail: expect.stringContaining(`index ${index}) has alias ""`) }));
    const err = await nets.reconcile().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'hostIfname', value: att.hostIfname, message: expect.stringContaining(`(index ${index})`) });
    expect(byIndex(index)?.ifname).toBe(att.hostIfname);
    // The network's delete removes its group: the foreign veth is not in it.
    expect(await nets.delete('vid')).toBe(true);
    expect(byIndex(index)?.ifname).toBe(att.hostIfname);
    expect(links().some((l) => l.ifname === 'le-rb')).toBe(true);
    ipHost('link', 'del', att.hostIfname);
  });

  it("the recovery of a dead attach leaves a foreign veth holding the veth's name untouched, and warns why", async () => {
    await nets.create({ name: 'vid', subnet: '10.93.0.0/24' });
    const name = 'nvdeadbeef0001';
    // A dead process's journal (no such pid) with an attach it never finished: the veth it was about to create.
    const record = { op: 'attach', network: 'vid', ids: ['gone'], hostIfnames: [name], macs: ['02:00:00:00:00:01'], namespaces: [] };
    fs.mkdirSync(path.join(stateDir, 'intents'), { recursive: true, mode: 0o700 });
    const line = { t: 'begin', id: '1', record: { ...record, pid: 2 ** 22 + 1, pidStart: '1', started: new Date().toISOString() } };
    fs.writeFileSync(path.join(stateDir, 'intents', `${2 ** 22 + 1}-1.log`), JSON.stringify(line) + '\n', { mode: 0o600 });
    ipHost('link', 'add', name, 'type', 'veth', 'peer', 'name', 'le-db');
    const index = links().find((l) => l.ifname === name)?.ifindex ?? 0;
    expect(await nets.reconcile()).toContainEqual(expect.objectContaining({ kind: 'interrupted-attach' }));
    await new Promise((r) => setImmediate(r));
    expect(byIndex(index)?.ifname).toBe(name);
    expect(foreignWarnings()).toEqual([expect.stringMatching(new RegExp(`recover attach on network vid: ${name}.*\\(index ${index}\\) has alias ""`))]);
    expect(await nets.check()).toEqual([]);
    ipHost('link', 'del', name);
  });

  it('attach() again does not take a foreign veth holding the host veth name for the attachment', async () => {
    const a = sandbox('ve');
    const att = await nets.attach('vid', { sandbox: a, create: true });
    ipHost('link', 'del', att.hostIfname);
    ipHost('link', 'add', 'le-ea', 'type', 'veth', 'peer', 'name', 'le-eb');
    ipHost('link', 'set', 'le-ea', 'name', att.hostIfname);
    const index = links().find((l) => l.ifname === att.hostIfname)?.ifindex ?? 0;
    const err = await nets.attach('vid', { sandbox: a }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'hostIfname', message: expect.stringContaining(`(index ${index}) has alias ""`) });
    expect(byIndex(index)?.ifname).toBe(att.hostIfname);
    ipHost('link', 'del', att.hostIfname);
    // With the name free again, attach rebuilds the attachment.
    await nets.attach('vid', { sandbox: a });
    expect(await nets.check()).toEqual([]);
    expect(await nets.detach('vid', a)).toBe(true);
  });

  it("reconcile() does not take a sandbox link carrying the interface's name as an altname; the host veth is not touched", async () => {
    const a = sandbox('vf');
    const att = await nets.attach('vid', { sandbox: a, create: true });
    const inSandbox = (...args: string[]) => execFileSync('ip', ['-n', a, ...args]);
    inSandbox('link', 'set', att.ifname, 'name', 'le-old0');
    inSandbox('link', 'add', 'le-other', 'type', 'bridge');
    inSandbox('link', 'property', 'add', 'dev', 'le-other', 'altname', att.ifname);
    const hostIndex = links().find((l) => l.ifname === att.hostIfname)?.ifindex ?? 0;
    expect(await nets.check()).toContainEqual(
      expect.objectContaining({
        kind: 'sandbox-interface-missing',
        id: a,
        detail: `${att.ifname} is gone from the sandbox (le-other carries the name as an altname)`,
      }),
    );
    const err = await nets.reconcile().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'ifname', message: expect.stringContaining('le-other (index') });
    expect(byIndex(hostIndex)?.ifname).toBe(att.hostIfname);
    const sandboxLinks = (ipJson(a, 'link', 'show') as Array<{ ifname: string }>).map((l) => l.ifname).sort();
    expect(sandboxLinks).toEqual(['le-old0', 'le-other', 'lo']);
    inSandbox('link', 'del', 'le-other');
    await nets.reconcile();
    expect(await nets.check()).toEqual([]);
    expect(await nets.detach('vid', a)).toBe(true);
  });
});
