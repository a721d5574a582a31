// Ownership marks: the bridges and veths nlkit made carry an alias naming the
// state directory and network, so a lost state's leftovers are reported and
// removed (check/reconcile) or replaced (create), while interfaces made by
// someone else are never touched.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns, listenTcp, ValidationError } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { ip, ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';
import { hello } from '../helpers/traffic';

interface IpLink {
  ifname: string;
  ifindex: number;
  ifalias?: string;
  master?: string;
}

describe('network manager: ownership marks and leftovers', () => {
  const box = useNetns('host');
  const sandboxes = [uniqueNetnsName('lo1'), uniqueNetnsName('lo2'), uniqueNetnsName('lo3')];
  let stateDir: string;
  let nets: NetworkManager;
  const links = (): IpLink[] => ipJson(box.ns('host'), 'link', 'show');
  const link = (name: string) => links().find((l) => l.ifname === name);

  /** The state directory is lost (a wiped /run, a runtime that forgot it): a new manager starts from nothing. */
  async function loseState(): Promise<void> {
    nets.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
    nets = await networks({ host: box.ns('host'), stateDir });
  }

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-left-'));
    nets = await networks({ host: box.ns('host'), stateDir });
  });
  afterAll(async () => {
    nets?.close();
    for (const s of sandboxes) await deleteNetns(s, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('marks the bridge and the host veths it makes (read back with ip)', async () => {
    await nets.create({ name: 'left', subnet: '10.55.0.0/24' });
    const a = await nets.attach('left', { sandbox: sandboxes[0], create: true });
    expect(link('nlk-left')?.ifalias).toMatch(/^nlkit:[0-9a-f]{8}:left$/);
    expect(link(a.hostIfname)?.ifalias).toBe(`${link('nlk-left')?.ifalias}/${sandboxes[0]}`);
    expect(await nets.check()).toEqual([]);
  });

  it('reports the leftovers of a lost state and removes only them', async () => {
    const veth = (await nets.get('left')).attachments[0].hostIfname;
    // Someone else's: a bridge made with ip, and one marked by another state directory.
    ip(box.ns('host'), 'link', 'add', 'theirs0', 'type', 'bridge');
    ip(box.ns('host'), 'link', 'add', 'theirs1', 'type', 'bridge');
    ip(box.ns('host'), 'link', 'set', 'theirs1', 'alias', 'nlkit:00000000:left');
    await loseState();

    const drift = await nets.check();
    // The lost state's nftables table is a leftover too (the firewall reports it on the host, network '').
    expect(drift.map((d) => `${d.kind}:${d.network}:${d.id ?? ''}`).sort()).toEqual([
      'firewall-leftover::',
      'leftover-bridge:left:',
      `leftover-veth:left:${sandboxes[0]}`,
    ]);
    expect(
      drift
        .filter((d) => d.kind !== 'firewall-leftover')
        .map((d) => d.detail.split(' ')[0])
        .sort(),
    ).toEqual(['nlk-left', veth].sort());
    await nets.reconcile();
    expect(link('nlk-left')).toBeUndefined();
    expect(link(veth)).toBeUndefined();
    expect(link('theirs0')).toBeDefined();
    expect(link('theirs1')).toBeDefined();
    expect(await nets.check()).toEqual([]);
  });

  it('create() replaces a leftover bridge of the same network, with its veths', async () => {
    await nets.create({ name: 'again', subnet: '10.54.0.0/24' });
    const old = await nets.attach('again', { sandbox: sandboxes[1], create: true });
    const oldIndex = link('nlk-again')?.ifindex;
    await loseState();

    // Was EEXIST on the old bridge.
    const rec = await nets.create({ name: 'again', subnet: '10.54.0.0/24' });
    expect(link('nlk-again')?.ifindex).not.toBe(oldIndex);
    expect(ipJson(box.ns('host'), 'link', 'show', 'nlk-again')[0].address).toBe(rec.mac);
    expect(link(old.hostIfname)).toBeUndefined();
    expect(await nets.check()).toEqual([]);
    expect(ipJson(sandboxes[1], 'link', 'show').map((l: IpLink) => l.ifname)).toEqual(['lo']); // its peer went with it
  });

  it('never takes over an interface of the bridge name that is not its leftover', async () => {
    ip(box.ns('host'), 'link', 'add', 'nlk-foreign', 'type', 'bridge');
    await expect(nets.create({ name: 'foreign', subnet: '10.53.0.0/24' })).rejects.toSatisfy(
      (e: unknown) => e instanceof ValidationError && e.field === 'bridge' && /not a leftover of network foreign/.test(e.message),
    );
    // A leftover of another network under that name is refused too.
    ip(box.ns('host'), 'link', 'set', 'nlk-foreign', 'alias', `${link('nlk-again')?.ifalias ?? ''}`);
    await expect(nets.create({ name: 'foreign', subnet: '10.53.0.0/24' })).rejects.toBeInstanceOf(ValidationError);
    expect(link('nlk-foreign')).toBeDefined();
    expect((await nets.list()).map((n) => n.name)).toEqual(['again']);
    ip(box.ns('host'), 'link', 'del', 'nlk-foreign');
  });

  it('leaves a working network after replacing a leftover', async () => {
    const a = await nets.attach('again', { sandbox: sandboxes[2], create: true });
    // Under its old host veth name, which would be EEXIST had the leftover stayed.
    const b = await nets.attach('again', { sandbox: sandboxes[1] });
    const srv = await listenTcp({ netns: sandboxes[2], port: 7000 }, (s) => s.end('ok'));
    try {
      expect(await hello(sandboxes[1], a.ipv4?.split('/')[0] ?? '', 7000)).toBe('ok');
    } finally {
      srv.close();
    }
    expect(b.ipv4).toBeDefined();
    await nets.delete('again');
    expect(await nets.check()).toEqual([]);
  });
});
