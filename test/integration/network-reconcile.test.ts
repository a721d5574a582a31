// check() and reconcile(): drift made behind nlkit's back with `ip` is
// reported, repaired, and traffic flows again.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTcp, deleteNetns, listenTcp } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { hostVethName, ownerTag, vethMark } from '../../lib/network/names';
import { ip, ipJson, uniqueNetnsName, useNetns } from '../helpers/netns';

describe('network manager: check and reconcile', () => {
  const box = useNetns('host');
  let nets: NetworkManager;
  let stateDir: string;
  const [c1, c2, c3] = [uniqueNetnsName('r1'), uniqueNetnsName('r2'), uniqueNetnsName('r3')];

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-rec-'));
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'rec', subnet: '10.66.0.0/24' });
    for (const c of [c1, c2, c3]) await nets.attach('rec', { sandbox: c, create: true });
  });
  afterAll(async () => {
    await nets?.delete('rec').catch(() => undefined);
    nets?.close();
    for (const c of [c1, c2, c3]) await deleteNetns(c, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('finds nothing to do on a healthy network', async () => {
    expect(await nets.check()).toEqual([]);
  });

  it('reports and repairs drift made with ip', async () => {
    const st = await nets.state();
    const a1 = st.attachments.rec[c1];
    const group = st.networks.rec.group;
    ip(box.ns('host'), 'link', 'del', a1.hostIfname); // c1 loses its veth
    ip(box.ns('host'), 'addr', 'del', '10.66.0.1/24', 'dev', 'nlk-rec'); // the gateway goes
    await deleteNetns(c3); // c3's sandbox vanishes (as if its runtime removed it)
    const strayv = hostVethName('rec', 'crashed'); // an attach that marked its veth, and died before recording the attachment
    ip(box.ns('host'), 'link', 'add', strayv, 'group', String(group), 'type', 'veth', 'peer', 'name', 'strayp');
    ip(box.ns('host'), 'link', 'set', strayv, 'alias', vethMark(ownerTag(fs.realpathSync(stateDir)), 'rec', 'crashed'));

    const drift = await nets.check();
    const kinds = drift.map((d) => `${d.kind}:${d.id ?? ''}`).sort();
    expect(kinds).toEqual([`gateway-missing:`, `sandbox-gone:${c3}`, 'stray-veth:', `veth-missing:${c1}`].sort());

    await nets.reconcile();
    expect(await nets.check()).toEqual([]);
    expect(Object.keys((await nets.state()).attachments.rec).sort()).toEqual([c1, c2].sort());
    expect(ipJson(box.ns('host'), 'link', 'show').map((l: any) => l.ifname)).not.toContain(strayv);
    expect(ipJson(c1, 'addr', 'show', 'eth0')[0].addr_info.map((a: any) => a.local)).toContain(a1.ipv4);

    // c1 <-> c2 traffic works again, through the rebuilt veth
    const srv = await listenTcp({ netns: c2, port: 8000 }, (s) => s.end('back'));
    try {
      const s = await connectTcp({ netns: c1, host: st.attachments.rec[c2].ipv4!, port: 8000 });
      let d = '';
      s.on('data', (x) => (d += x));
      await new Promise((r) => s.on('close', r));
      expect(d).toBe('back');
    } finally {
      srv.close();
    }
  });
});
