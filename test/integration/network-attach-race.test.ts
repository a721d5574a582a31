// Two managers in this process and a third in another process attach the
// same 20 sandboxes at the same time: each sandbox ends up with one
// attachment, one lease, one veth, and every caller gets that attachment
// (the per-attachment lock serialises them; nobody's rollback releases the
// winner's lease). Sandboxes attached afterwards get addresses of their own.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNetns, NETNS_RUN_DIR } from '../../lib';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { ipJson, useNetns } from '../helpers/netns';

const root = path.resolve(__dirname, '..', '..');
const N = 20;

/** Starts the racing process; resolves once it is ready, with a function that starts it and waits for its result. */
async function startRacer(args: string[]): Promise<() => Promise<string[]>> {
  const child = spawn('unshare', ['-n', process.execPath, 'test/fixtures/attach-race.cjs', ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.startsWith('ready\n')) resolve();
    });
    void closed.then(() => reject(new Error(`racer ended before it was ready: ${stderr}`)));
  });
  return async () => {
    child.stdin.write('go\n');
    const status = await closed;
    clearTimeout(timer);
    expect(status, stderr).toBe(0);
    return JSON.parse(stdout.trim().split('\n').pop()!) as string[];
  };
}

describe('network manager: racing attaches of the same sandboxes', () => {
  const box = useNetns('host');
  let stateDir: string;
  const managers: NetworkManager[] = [];
  const prefix = `nlt${process.pid}-race-`;

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-race-'));
    for (let i = 0; i < 2; i++) managers.push(await networks({ host: box.ns('host'), stateDir }));
    await managers[0].create({ name: 'race', subnet: '10.93.0.0/24' });
  });
  afterAll(async () => {
    await managers[0]?.delete('race').catch(() => undefined);
    for (const m of managers) m.close();
    for (const n of fs.readdirSync(NETNS_RUN_DIR).filter((x) => x.startsWith(prefix))) await deleteNetns(n, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('ends with one attachment, one lease and one veth per sandbox, and unique addresses', async () => {
    expect(fs.existsSync(path.join(root, 'dist', 'index.js')), 'npm run build:ts first (npm test does)').toBe(true);
    const go = await startRacer([box.ns('host'), stateDir, prefix, String(N)]);
    const local = (m: NetworkManager) => async () => {
      const out: string[] = [];
      for (let i = 0; i < N; i++) out.push((await m.attach('race', { sandbox: `${prefix}${i}`, create: true })).ipv4!);
      return out;
    };
    const [remote, a, b] = await Promise.all([go(), local(managers[0])(), local(managers[1])()]);
    // every caller got the one attachment of each sandbox
    expect(remote).toEqual(a);
    expect(b).toEqual(a);
    expect(new Set(a).size).toBe(N);

    const check = async (count: number) => {
      const atts = (await managers[1].get('race')).attachments;
      expect(atts).toHaveLength(count);
      const leases = JSON.parse(fs.readFileSync(path.join(stateDir, 'ipam', 'race.json'), 'utf8')).allocations as Record<string, string>;
      expect(Object.values(leases).sort()).toEqual(atts.map((x) => x.id).sort()); // one lease per attachment, none leaked
      expect(Object.keys(leases).sort()).toEqual(atts.map((x) => x.ipv4!.split('/')[0]).sort());
      const ports = ipJson(box.ns('host'), 'link', 'show', 'master', 'nlk-race').map((l: any) => l.ifname as string);
      expect(ports.sort()).toEqual(atts.map((x) => x.hostIfname).sort());
      expect(new Set(atts.map((x) => x.ipv4)).size).toBe(count); // no duplicate addresses
      for (const x of atts.slice(0, 5)) expect(ipJson(x.id, '-4', 'addr', 'show', 'eth0')[0].addr_info[0].local).toBe(x.ipv4!.split('/')[0]);
      expect(await managers[0].check()).toEqual([]);
    };
    await check(N);
    // later sandboxes get addresses nobody holds
    for (let i = N; i < N + 5; i++) await managers[i % 2].attach('race', { sandbox: `${prefix}${i}`, create: true });
    await check(N + 5);
  }, 120_000);
});
