// Firewall drift, object by object: each change made behind nlkit's back
// with `nft` or a sysctl is reported by check() as exactly one typed entry,
// reconcile() repairs exactly it (other rules keep their handles, foreign
// tables are untouched), and traffic works again.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, listenTcp, setSysctl } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import type { Drift } from '../../lib/network/reconcile';
import { ip, uniqueNetnsName, useNetns } from '../helpers/netns';
import { wireUplink } from '../helpers/uplink';
import { hello } from '../helpers/traffic';

const UPLINK = '192.168.51.1';
const NB = '192.168.51.2';

function nft(netns: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', netns, 'nft', ...args], { encoding: 'utf8' });
}

interface NftRule {
  chain: string;
  handle: number;
  comment?: string;
  expr: unknown[];
}

/** The rules of one of nlkit's chains, as `nft -j` lists them. */
function rulesOf(netns: string, chain: string): NftRule[] {
  const out = JSON.parse(nft(netns, '-a', '-j', 'list', 'chain', 'inet', 'nlkit', chain)) as { nftables: Array<{ rule?: NftRule }> };
  return out.nftables.flatMap((o) => (o.rule ? [o.rule] : []));
}

/** Deletes the one rule of a chain that matches. */
function deleteRule(netns: string, chain: string, match: (r: NftRule) => boolean): void {
  const found = rulesOf(netns, chain).filter(match);
  expect(found).toHaveLength(1);
  nft(netns, 'delete', 'rule', 'inet', 'nlkit', chain, 'handle', String(found[0].handle));
}

const kinds = (drift: Drift[]) => drift.map((d) => `${d.kind}:${d.network}`).sort();
const has = (r: NftRule, text: string) => JSON.stringify(r.expr).includes(text);

describe('network manager: firewall drift', () => {
  const box = useNetns('host', 'nb');
  let nets: NetworkManager;
  let stateDir: string;
  const c = { c1: uniqueNetnsName('d1'), c2: uniqueNetnsName('d2'), o1: uniqueNetnsName('do') };
  const servers: net.Server[] = [];
  const FOREIGN = `table inet foreign {
  set allowed {
    type ipv4_addr
    elements = { 10.9.9.9 }
  }
  chain input {
    type filter hook input priority 10; policy accept;
    ip saddr @allowed counter accept
  }
  chain forward {
    type filter hook forward priority 10; policy accept;
    tcp dport 9999 counter
  }
}
`;
  const foreign = () => nft(box.ns('host'), '-j', 'list', 'table', 'inet', 'foreign');
  let foreignBefore = '';

  beforeAll(async () => {
    await wireUplink(box, { host: UPLINK, neighbour: NB });
    await box.h('nb').routes.add({ dst: '10.72.0.0/16', gateway: UPLINK }); // to see unmasqueraded sources
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-fwd-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'dr', subnet: '10.72.1.0/24' });
    await nets.create({ name: 'other', subnet: '10.72.2.0/24' });
    await nets.attach('dr', { sandbox: c.c1, create: true });
    await nets.attach('dr', { sandbox: c.c2, create: true });
    await nets.attach('other', { sandbox: c.o1, create: true });
    for (const [name, ns] of [...Object.entries(c), ['nb', box.ns('nb')]]) {
      servers.push(await listenTcp({ netns: ns, port: 80 }, (s) => s.end(`${name} sees ${s.remoteAddress}`)));
    }
    await nets.publish({ network: 'dr', hostPort: 8080, containerPort: 80, to: c.c1 });
    await nets.publish({ network: 'dr', hostPort: 9090, hostIp: '127.0.0.1', containerPort: 80, to: c.c1 });
    await nets.publish({
      network: 'dr',
      hostPort: 8090,
      containerPort: 80,
      backends: [
        { id: c.c1, weight: 3 },
        { id: c.c2, weight: 1 },
      ],
    });
    // Someone else's rules in the same namespace, written with nft -f.
    const file = path.join(stateDir, 'foreign.nft');
    fs.writeFileSync(file, FOREIGN);
    nft(box.ns('host'), '-f', file);
    foreignBefore = foreign();
  });
  afterAll(async () => {
    servers.forEach((s) => s.close());
    for (const n of ['dr', 'other']) await nets?.delete(n).catch(() => undefined);
    nets?.close();
    for (const ns of Object.values(c)) await deleteNetns(ns, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  /** check() reports exactly `expected`; reconcile() repairs it, touching nothing else; then check() is clean. */
  async function expectRepaired(expected: string[]): Promise<void> {
    const untouched = rulesOf(box.ns('host'), 'forward').map((r) => r.handle);
    expect(kinds(await nets.check())).toEqual(expected);
    expect(kinds(await nets.reconcile())).toEqual(expected);
    expect(await nets.check()).toEqual([]);
    expect(foreign()).toBe(foreignBefore);
    if (!expected.some((k) => k.includes('rule'))) expect(rulesOf(box.ns('host'), 'forward').map((r) => r.handle)).toEqual(untouched);
  }

  it('finds nothing on a healthy host, foreign table included', async () => {
    expect(await nets.check()).toEqual([]);
    expect(await hello(box.ns('nb'), UPLINK, 8080)).toBe(`c1 sees ${NB}`);
  });

  it('a deleted masquerade rule', async () => {
    const forward = rulesOf(box.ns('host'), 'forward').map((r) => r.handle);
    deleteRule(box.ns('host'), 'postrouting', (r) => r.comment === 'net:dr' && has(r, 'masquerade'));
    expect(await hello(c.c1, NB, 80)).toBe('nb sees 10.72.1.2'); // not masqueraded any more
    await expectRepaired(['firewall-rule-missing:dr']);
    expect(await hello(c.c1, NB, 80)).toBe(`nb sees ${UPLINK}`);
    expect(rulesOf(box.ns('host'), 'forward').map((r) => r.handle)).toEqual(forward); // repaired in place, no rebuild
    // in its place: before the hairpin rule of the same network
    const post = rulesOf(box.ns('host'), 'postrouting').filter((r) => r.comment === 'net:dr');
    expect(has(post[0], 'masquerade')).toBe(true);
  });

  it('a deleted isolation rule', async () => {
    // the outbound one (leaving dr's bridge for another network's); its inbound twin starts with oifname
    deleteRule(box.ns('host'), 'forward', (r) => r.comment === 'net:dr' && JSON.stringify(r.expr[0]).includes('"iifname"') && has(r, '@bridges'));
    await expectRepaired(['firewall-rule-missing:dr']);
    expect(await hello(c.c1, '10.72.2.2', 80, 700)).toMatch(/^error:/);
  });

  it('a deleted inbound protection rule (the neighbour reaches the container until reconcile)', async () => {
    expect(await hello(box.ns('nb'), '10.72.1.2', 80, 700)).toMatch(/^error:/);
    deleteRule(box.ns('host'), 'forward', (r) => r.comment === 'net:dr' && has(r, '"oifname"') && !has(r, '@bridges'));
    expect(await hello(box.ns('nb'), '10.72.1.2', 80)).toBe(`c1 sees ${NB}`);
    await expectRepaired(['firewall-rule-missing:dr']);
    expect(await hello(box.ns('nb'), '10.72.1.2', 80, 700)).toMatch(/^error:/);
  });

  it('the deleted 127/8 guard', async () => {
    deleteRule(box.ns('host'), 'guard', (r) => has(r, '127.0.0.0'));
    await expectRepaired(['firewall-rule-missing:']);
    expect(rulesOf(box.ns('host'), 'guard')).toHaveLength(1);
  });

  it("a published port's map element pointing at another container", async () => {
    nft(box.ns('host'), 'delete', 'element', 'inet', 'nlkit', 'pub4', '{ tcp . 8080 }');
    nft(box.ns('host'), 'add', 'element', 'inet', 'nlkit', 'pub4', '{ tcp . 8080 : 10.72.1.3 . 80 }');
    expect(await hello(box.ns('nb'), UPLINK, 8080)).toBe(`c2 sees ${NB}`);
    await expectRepaired(['firewall-element-wrong:dr']);
    expect(await hello(box.ns('nb'), UPLINK, 8080)).toBe(`c1 sees ${NB}`);
  });

  it('a missing and a stray map element', async () => {
    nft(box.ns('host'), 'delete', 'element', 'inet', 'nlkit', 'pub4', '{ tcp . 8080 }');
    nft(box.ns('host'), 'add', 'element', 'inet', 'nlkit', 'pub4', '{ udp . 5353 : 10.72.1.3 . 53 }');
    await expectRepaired(['firewall-element-missing:dr', 'firewall-element-unexpected:']);
    expect(await hello(box.ns('nb'), UPLINK, 8080)).toBe(`c1 sees ${NB}`);
  });

  it('the deleted jump to the publish chain', async () => {
    deleteRule(box.ns('host'), 'prerouting', (r) => has(r, '"jump"'));
    expect(await hello(box.ns('nb'), UPLINK, 8080, 700)).toMatch(/^error:/);
    await expectRepaired(['firewall-rule-missing:']);
    expect(await hello(box.ns('nb'), UPLINK, 8080)).toBe(`c1 sees ${NB}`);
  });

  it('the deleted ::1 return (a table written before it existed), put back before the jump', async () => {
    deleteRule(box.ns('host'), 'output', (r) => has(r, '"::1"'));
    await expectRepaired(['firewall-rule-missing:']);
    const output = rulesOf(box.ns('host'), 'output');
    expect(output.map((r) => [has(r, '"::1"') && has(r, '"return"'), has(r, '"jump"')])).toEqual([
      [true, false],
      [false, true],
    ]);
  });

  it('the forward chain of an older nlkit (published ports accepted both ways from anywhere): replaced in place', async () => {
    const host = box.ns('host');
    const listed = () => nft(host, 'list', 'chain', 'inet', 'nlkit', 'forward');
    const before = listed();
    // the client's direction, dr's and other's replies, then the drop of replies from any other bridge
    const published = rulesOf(host, 'forward').filter((r) => has(r, '"dnat"'));
    expect(published.map((r) => r.comment ?? '')).toEqual(['', 'net:dr', 'net:other', '']);
    nft(host, 'insert', 'rule', 'inet', 'nlkit', 'forward', 'position', String(published[0].handle), 'ct', 'status', 'dnat', 'accept');
    for (const r of published) nft(host, 'delete', 'rule', 'inet', 'nlkit', 'forward', 'handle', String(r.handle));
    await expectRepaired([
      'firewall-rule-missing:',
      'firewall-rule-missing:',
      'firewall-rule-missing:dr',
      'firewall-rule-missing:other',
      'firewall-rule-unexpected:',
    ]);
    expect(listed()).toBe(before); // the same rules in the same order
    expect(await hello(box.ns('nb'), UPLINK, 8080)).toBe(`c1 sees ${NB}`);
  });

  it("the forward chain of an older nlkit (an internal network's way out to published ports open): the rule put back first", async () => {
    const host = box.ns('host');
    const s1 = uniqueNetnsName('ds');
    try {
      await nets.create({ name: 'sealed', subnet: '10.72.3.0/24', internal: true });
      await nets.attach('sealed', { sandbox: s1, create: true });
      expect(await nets.check()).toEqual([]);
      expect(await hello(s1, UPLINK, 8080, 700)).toMatch(/^error:/);
      // before it existed, the DNAT accept let sealed's container out to dr's published port
      deleteRule(host, 'forward', (r) => r.comment === 'net:sealed' && has(r, '"original"'));
      expect(await hello(s1, UPLINK, 8080)).toBe('c1 sees 10.72.3.2');
      await expectRepaired(['firewall-rule-missing:sealed']);
      expect(await hello(s1, UPLINK, 8080, 700)).toMatch(/^error:/);
      // in its place: after the user's chain, before the published ports' accept
      const forward = rulesOf(host, 'forward');
      expect(forward[1].comment).toBe('net:sealed');
      expect(has(forward[2], '"dnat"')).toBe(true);
    } finally {
      await nets.delete('sealed', { missingOk: true });
      await deleteNetns(s1, { missingOk: true });
    }
  });

  it("a weighted publication's deleted rule, and a rule nlkit did not write", async () => {
    deleteRule(box.ns('host'), 'publish', (r) => r.comment === 'pub:tcp:*:8090');
    nft(box.ns('host'), 'add', 'rule', 'inet', 'nlkit', 'forward', 'tcp', 'dport', '9999', 'accept');
    await expectRepaired(['firewall-rule-missing:dr', 'firewall-rule-unexpected:']);
    expect(await hello(box.ns('nb'), UPLINK, 8090)).toMatch(/^c[12] sees /);
    expect(rulesOf(box.ns('host'), 'forward').some((r) => has(r, '9999'))).toBe(false);
  });

  it('ip_forward=0', async () => {
    await setSysctl(box.ns('host'), 'net.ipv4.ip_forward', 0);
    expect(await hello(c.c1, NB, 80, 700)).toMatch(/^error:/);
    await expectRepaired(['sysctl:']);
    expect(await hello(c.c1, NB, 80)).toBe(`nb sees ${UPLINK}`);
  });

  it('route_localnet=0 on a bridge', async () => {
    await setSysctl(box.ns('host'), 'net.ipv4.conf.nlk-dr.route_localnet', 0);
    expect(await hello(box.ns('host'), '127.0.0.1', 9090, 700)).toMatch(/^error:/);
    await expectRepaired(['sysctl:dr']);
    expect(await hello(box.ns('host'), '127.0.0.1', 9090)).toBe('c1 sees 10.72.1.1');
  });

  it("a drop policy set on nlkit's forward chain", async () => {
    nft(box.ns('host'), 'add', 'chain', 'inet', 'nlkit', 'forward', '{ type filter hook forward priority filter; policy drop; }');
    expect(await hello(c.c1, NB, 80, 700)).toMatch(/^error:/);
    expect(kinds(await nets.check())).toEqual(['firewall-chain-wrong:']);
    await nets.reconcile();
    expect(await nets.check()).toEqual([]);
    expect(nft(box.ns('host'), 'list', 'chain', 'inet', 'nlkit', 'forward')).toMatch(/policy accept;/);
    expect(await hello(c.c1, NB, 80)).toBe(`nb sees ${UPLINK}`);
    expect(foreign()).toBe(foreignBefore);
  });

  it('a deleted set element of the bridges set', async () => {
    nft(box.ns('host'), 'delete', 'element', 'inet', 'nlkit', 'bridges', '{ "nlk-other" }');
    await expectRepaired(['firewall-element-missing:other']);
    expect(await hello(c.c1, '10.72.2.2', 80, 700)).toMatch(/^error:/);
  });

  it('the whole table flushed from outside (nft flush ruleset is not used: the foreign table must stay)', async () => {
    nft(box.ns('host'), 'delete', 'table', 'inet', 'nlkit');
    expect(kinds(await nets.check())).toEqual(['firewall-missing:']);
    await nets.reconcile();
    expect(await nets.check()).toEqual([]);
    expect(foreign()).toBe(foreignBefore);
    expect(await hello(box.ns('nb'), UPLINK, 8080)).toBe(`c1 sees ${NB}`);
  });

  it('lists consistently while another manager commits to the same table', async () => {
    // Re-setting the same backends replaces the weighted rule and its anonymous map in one
    // transaction: a listing that mixed generations would see a rule without its map.
    const other = await networks({ host: box.ns('host'), stateDir });
    const backends = (await nets.publications.get({ hostPort: 8090 })).backends.map((b) => ({ id: b.id!, weight: b.weight }));
    let stop = false;
    let rounds = 0;
    const churn = (async () => {
      while (!stop) {
        await other.setBackends({ hostPort: 8090 }, backends);
        rounds++;
      }
    })();
    try {
      for (let i = 0; i < 150; i++) expect(await nets.check()).toEqual([]);
      // A rebuild (network create and delete) commits only on the generation it listed, retrying meanwhile.
      await nets.create({ name: 'churn', subnet: '10.72.3.0/24' });
      await nets.delete('churn');
      expect(await nets.check()).toEqual([]);
    } finally {
      stop = true;
      await churn;
      other.close();
    }
    expect(rounds).toBeGreaterThan(0);
  });
});

describe('network manager: every kind of rule reads back as written', () => {
  const box = useNetns('host');
  it('check() finds nothing after each kind of network and publication', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-kinds-'));
    const nets = await networks({ host: box.ns('host'), stateDir: dir });
    const sb = [uniqueNetnsName('k1'), uniqueNetnsName('k2'), uniqueNetnsName('k3')];
    ip(box.ns('host'), 'link', 'add', 'fx0', 'up', 'type', 'veth', 'peer', 'name', 'fx1'); // a foreign link, made with ip
    await box.h('host').addresses.add('fx0', 'fd00:77::1/64', { nodad: true });
    try {
      await nets.create({ name: 'v6', subnet: '10.72.5.0/24', subnet6: 'fd00:72:5::/64', masqueradeExclude: ['10.244.0.0/16', 'fd00:244::/56', '10.9.9.9'] });
      await nets.create({ name: 'int', subnet: '10.72.6.0/24', internal: true });
      await nets.create({ name: 'open', subnet: '10.72.7.0/24', isolate: false, routed: true, icc: false, masquerade: false });
      await nets.attach('v6', { sandbox: sb[0], create: true });
      await nets.attach('v6', { sandbox: sb[1], create: true });
      await nets.attach('int', { sandbox: sb[2], create: true });
      const v6 = (id: string) => ({ id });
      await nets.publish({ network: 'v6', hostPort: '7000-7010', to: sb[0] });
      await nets.publish({ network: 'v6', hostPort: 7100, backends: [v6(sb[0]), v6(sb[1])] });
      await nets.publish({ network: 'v6', protocol: 'udp', hostPort: 7200, hostIp: 'fd00:77::1', to: sb[1] });
      await nets.publish({ network: 'v6', hostPort: 7300, hostIp: 'fd00:77::1', backends: [{ id: sb[0], weight: 2 }, v6(sb[1])] });
      await nets.publish({ network: 'v6', hostPort: 7400, hostIp: '127.0.0.1', to: sb[0] }); // none on int: internal
      await nets.publish({
        network: 'v6',
        hostPort: 7500,
        backends: [
          { id: sb[0], weight: 0 },
          { id: sb[1], weight: 0 },
        ],
      });
      expect(await nets.check()).toEqual([]);
      // and a repair of each is exact: delete every rule of the publish and postrouting chains
      for (const chain of ['publish', 'postrouting'])
        for (const r of rulesOf(box.ns('host'), chain)) nft(box.ns('host'), 'delete', 'rule', 'inet', 'nlkit', chain, 'handle', String(r.handle));
      expect((await nets.check()).every((d) => d.kind === 'firewall-rule-missing')).toBe(true);
      await nets.reconcile();
      expect(await nets.check()).toEqual([]);
    } finally {
      for (const n of ['v6', 'int', 'open']) await nets.delete(n, { missingOk: true });
      nets.close();
      for (const n of sb) await deleteNetns(n, { missingOk: true });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('network manager: the last network deleted', () => {
  const box = useNetns('host');
  it("keeps the table while the user's chain holds rules, and removes it when it does not", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-last-'));
    const nets = await networks({ host: box.ns('host'), stateDir: dir });
    try {
      await nets.create({ name: 'last', subnet: '10.72.8.0/24' });
      nft(box.ns('host'), 'add', 'rule', 'inet', 'nlkit', 'user', 'tcp', 'dport', '22', 'drop');
      await nets.delete('last');
      expect(nft(box.ns('host'), 'list', 'table', 'inet', 'nlkit')).toMatch(/chain user \{\s+tcp dport 22 drop\s+\}\s+\}/);
      expect(await nets.check()).toEqual([]); // the user's chain alone is no leftover
      await nets.create({ name: 'last', subnet: '10.72.8.0/24' });
      expect(nft(box.ns('host'), 'list', 'chain', 'inet', 'nlkit', 'user')).toContain('tcp dport 22 drop');
      expect(await nets.check()).toEqual([]);
      nft(box.ns('host'), 'flush', 'chain', 'inet', 'nlkit', 'user');
      await nets.delete('last');
      expect(nft(box.ns('host'), 'list', 'tables')).not.toContain('nlkit');
    } finally {
      await nets.delete('last', { missingOk: true });
      nets.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('network manager: a table left over without state', () => {
  const box = useNetns('host');
  it('is reported and removed by reconcile', async () => {
    const dirs = [fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-lost-')), fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-new-'))];
    const sb = uniqueNetnsName('lost');
    await createNetns(sb);
    const first = await networks({ host: box.ns('host'), stateDir: dirs[0] });
    const second = await networks({ host: box.ns('host'), stateDir: dirs[1] });
    try {
      await first.create({ name: 'lost', subnet: '10.72.9.0/24' });
      await first.attach('lost', { sandbox: sb });
      // The state directory is lost: a manager with a fresh one sees nlkit's table nobody records.
      expect(kinds(await second.check())).toEqual(['firewall-leftover:']);
      await second.reconcile();
      expect(await second.check()).toEqual([]);
      expect(nft(box.ns('host'), 'list', 'tables')).not.toContain('nlkit');
    } finally {
      first.close();
      second.close();
      await deleteNetns(sb, { missingOk: true });
      await box
        .h('host')
        .links.delete('nlk-lost')
        .catch(() => undefined);
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
