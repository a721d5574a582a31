// Nothing from outside reaches an `internal` network's containers, published ports included (as Docker publishes
// nothing for them): publish() (and `nlkit publish`) refuses with InternalNetworkPublishError before anything is
// changed (the ruleset read back with `nft -j` is the same), and a client outside gets no packet through. A
// publication an earlier nlkit recorded there (the packets got through) is `publication-internal` drift, which
// reconcile() unpublishes. "host" plays the machine, "nb" a client outside on its uplink.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns, InternalNetworkPublishError, listenTcp } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { toPublication } from '../../lib/network/publication';
import type { NetworkContext } from '../../lib/network/context';
import { nlkitCli } from '../helpers/cli';
import { uniqueNetnsName, useNetns } from '../helpers/netns';
import { wireUplink } from '../helpers/uplink';
import { hello } from '../helpers/traffic';

const UPLINK = '192.168.53.1';
const NB = '192.168.53.2';

describe('network manager: no published port on an internal network', () => {
  const box = useNetns('host', 'nb');
  let nets: NetworkManager;
  let stateDir: string;
  const c = { n1: uniqueNetnsName('n1'), p1: uniqueNetnsName('p1') };
  const servers: net.Server[] = [];
  const ruleset = () => execFileSync('ip', ['netns', 'exec', box.ns('host'), 'nft', '-j', 'list', 'ruleset'], { encoding: 'utf8' });
  const { cli } = nlkitCli(
    () => box.ns('host'),
    () => stateDir,
  );

  beforeAll(async () => {
    await wireUplink(box, { host: UPLINK, neighbour: NB });
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-intpub-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'int', subnet: '10.74.1.0/24', internal: true });
    await nets.create({ name: 'pub', subnet: '10.74.2.0/24' });
    await nets.attach('int', { sandbox: c.n1, create: true });
    await nets.attach('pub', { sandbox: c.p1, create: true });
    for (const [name, ns] of Object.entries(c)) servers.push(await listenTcp({ netns: ns, port: 80 }, (s) => s.end(`${name} sees ${s.remoteAddress}`)));
    // The way in from outside works for a network that is not internal.
    await nets.publish({ network: 'pub', hostPort: 8090, containerPort: 80, to: c.p1 });
    expect(await hello(box.ns('nb'), UPLINK, 8090)).toBe(`p1 sees ${NB}`);
  });
  afterAll(async () => {
    servers.forEach((s) => s.close());
    for (const n of ['int', 'pub']) await nets?.delete(n, { missingOk: true });
    nets?.close();
    for (const n of Object.values(c)) await deleteNetns(n, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('publish() is refused with InternalNetworkPublishError; nothing is changed and nothing gets in', async () => {
    const before = ruleset();
    for (const spec of [
      { network: 'int', hostPort: 8093, containerPort: 80, to: c.n1 },
      { network: 'int', hostPort: 8093, hostIp: '127.0.0.1', containerPort: 80, to: c.n1 },
      { network: 'int', hostPort: 0, containerPort: 80, backends: [{ id: c.n1, weight: 2 }] },
      { network: 'int', hostPort: '8100-8101', to: c.n1 },
    ]) {
      const err = await nets.publish(spec).catch((e: unknown) => e);
      expect(err, JSON.stringify(spec)).toBeInstanceOf(InternalNetworkPublishError);
      expect(err).toMatchObject({ name: 'InternalNetworkPublishError', network: 'int', field: 'network' });
    }
    expect(ruleset()).toBe(before); // read back: nothing half-built
    expect(await nets.publications.list({ network: 'int' })).toEqual([]);
    expect(await hello(box.ns('nb'), UPLINK, 8093, 1000)).toMatch(/^error:/);
    expect(await nets.check()).toEqual([]);
  });

  it('nlkit publish is refused the same way', () => {
    const before = ruleset();
    const r = cli('publish', 'int', '8094:80', '--to', c.n1);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/InternalNetworkPublishError: .*network int is internal/);
    expect(ruleset()).toBe(before);
    expect(cli('publications', '--json').out).not.toContain('8094');
  });

  it("an earlier nlkit's publication there is publication-internal drift, which reconcile() unpublishes", async () => {
    const before = ruleset();
    // What an earlier nlkit's publish() did: the firewall's element, then the record (no refusal).
    const ctx = (nets as unknown as { ctx: NetworkContext }).ctx;
    await ctx.store.edit(async (s, edits) => {
      const p = toPublication({ network: 'int', hostPort: 8095, containerPort: 80, to: c.n1 }, s.attachments.int);
      await ctx.firewall.publish(p);
      edits.put(p);
    });
    expect(await hello(box.ns('nb'), UPLINK, 8095)).toBe(`n1 sees ${NB}`); // the way in it was
    const drift = [{ network: 'int', kind: 'publication-internal', publication: 'tcp:*:8095', detail: expect.any(String) }];
    expect(await nets.check()).toEqual(drift);
    // Its backends are not changed either; unpublish() or reconcile() removes it.
    await expect(nets.setBackends({ hostPort: 8095 }, [{ id: c.n1, port: 81 }])).rejects.toBeInstanceOf(InternalNetworkPublishError);
    expect(await nets.reconcile()).toEqual(drift);
    expect(await nets.check()).toEqual([]);
    expect(await nets.publications.list({ network: 'int' })).toEqual([]);
    expect(ruleset()).toBe(before);
    expect(await hello(box.ns('nb'), UPLINK, 8095, 1000)).toMatch(/^error:/);
    expect(await hello(box.ns('nb'), UPLINK, 8090)).toBe(`p1 sees ${NB}`); // the other network's is kept
  });
});
