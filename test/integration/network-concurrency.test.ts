// Two processes attaching 50 sandboxes each to one network at the same time
// get 100 distinct addresses, and every sandbox can reach its gateway.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { ipJson, useNetns } from '../helpers/netns';

const root = path.resolve(__dirname, '..', '..');

describe('network manager: concurrent attaches from two processes', () => {
  const box = useNetns('host');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-conc-'));
  let nets: NetworkManager | undefined;
  afterAll(async () => {
    if (nets) {
      await nets.delete('busy').catch(() => undefined); // deletes the sandboxes it created
      nets.close();
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('hands out 100 unique addresses and wires every sandbox', async () => {
    expect(fs.existsSync(path.join(root, 'dist', 'index.js')), 'npm run build:ts first (npm test does)').toBe(true);
    nets = await networks({ host: box.ns('host'), stateDir });
    await nets.create({ name: 'busy', subnet: '10.92.0.0/24' });
    const tag = `nlc${process.pid}`;
    const run = (p: string) =>
      promisify(execFile)(process.execPath, ['test/fixtures/attach-many.cjs', box.ns('host'), stateDir, `${tag}${p}-`, '50'], { cwd: root, timeout: 120_000 });
    const [a, b] = await Promise.all([run('a'), run('b')]);
    const ips: string[] = [...JSON.parse(a.stdout), ...JSON.parse(b.stdout)];
    expect(ips).toHaveLength(100);
    expect(new Set(ips).size).toBe(100);
    const info = await nets.get('busy');
    expect(info.attachments).toHaveLength(100);
    expect(ipJson(box.ns('host'), 'link', 'show', 'master', 'nlk-busy')).toHaveLength(100);
    // each sandbox has its address and a route to the gateway that works (kernel lookup)
    for (const att of info.attachments.slice(0, 10)) {
      const h = await open({ netns: { path: att.sandboxPath } });
      const r = await h.routes.get('10.92.0.1');
      h.close();
      expect(`${r.prefsrc}/24`).toBe(att.ipv4);
    }
    // tearing them down: a list in one bulk request, the deprecated detachMany (the same), then all the rest
    const ids = info.attachments.map((a) => a.id);
    expect(
      await nets.detach(
        'busy',
        ids.slice(0, 50).map((id) => ({ id })),
      ),
    ).toBe(50);
    expect(ipJson(box.ns('host'), 'link', 'show', 'master', 'nlk-busy')).toHaveLength(50);
    expect(await nets.detachMany('busy', [...ids.slice(50, 60), 'not-attached'])).toBe(10);
    expect(await nets.detachAll('busy')).toBe(40);
    expect(ipJson(box.ns('host'), 'link', 'show', 'master', 'nlk-busy')).toHaveLength(0);
  }, 180_000);
});

describe('network manager: the same network created by several processes at once', () => {
  const box = useNetns('host');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-conc-create-'));
  afterAll(async () => {
    const nets = await networks({ host: box.ns('host'), stateDir });
    await nets.delete('par', { missingOk: true });
    nets.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  // Unserialised, a later create saw the first one's new bridge address as a
  // subnet overlapping the host's addresses and failed (found by the CNI
  // plugin's parallel first ADDs).
  it('one creates it, the others find it', async () => {
    const run = () => promisify(execFile)(process.execPath, ['test/fixtures/create-network.cjs', box.ns('host'), stateDir], { cwd: root, timeout: 120_000 });
    const outs = await Promise.all([run(), run(), run(), run()]);
    expect(outs.map((o) => JSON.parse(o.stdout) as string)).toEqual(Array(4).fill('10.93.0.0/24'));
    expect(ipJson(box.ns('host'), 'link', 'show', 'type', 'bridge')).toHaveLength(1);
  }, 180_000);
});
