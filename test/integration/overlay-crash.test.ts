// Crash safety of an overlay by fault injection: an overlay keeps its peers
// in memory only, so what recovers from a crash is the restarted process's
// createOverlay() and apply() of the peers it wants. A fixture process
// applying peers twice (one leaves, one moves to another underlay address,
// one joins) is SIGKILLed after each peer removed or written
// (NLKIT_FAULT_AFTER_STEP=overlay:<n>); then a new overlay applies the
// second list: check() is clean and the kernel (ip -j) holds exactly the
// wanted peers' routes and FDB entries: nothing of the departed peer, nothing
// of the moved peer's old address. A foreign route made with ip stays.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createOverlay, type OverlayPeer, type OverlaySpec } from '../../lib';
import { runFaultFixture, type FixtureRun } from '../helpers/fault-fixture';
import { ip, ipJson, useNetns } from '../helpers/netns';

const SPEC: OverlaySpec = { clusterCidr: '10.244.0.0/16', subnet: '10.244.1.0/24', underlay: { link: 'ul0', address: '172.31.0.1' }, device: 'ovx-crash' };
const P = (n: number, underlay = `172.31.0.${String(n)}`): OverlayPeer => ({
  name: `p${String(n)}`,
  subnet: `10.244.${String(n)}.0/24`,
  underlay,
  mac: `0a:58:0a:f4:0${String(n)}:00`,
});
const FIRST = [P(2), P(3)];
const SECOND = [P(3, '172.31.0.33'), P(4)];

function runFixture(netns: string, step: number): Promise<FixtureRun> {
  const args = ['test/fixtures/overlay-crash.cjs', netns, ...[SPEC, FIRST, SECOND].map((x) => JSON.stringify(x))];
  return runFaultFixture(process.execPath, args, `overlay:${String(step)}`);
}

describe('overlay: crash at every peer of apply()', () => {
  const box = useNetns('node');
  it('a restarted overlay applying its peers leaves exactly them, whatever peer the process died after', async () => {
    const ns = box.ns('node');
    ip(ns, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1');
    ip(ns, 'addr', 'add', '172.31.0.1/24', 'dev', 'ul0');
    ip(ns, 'link', 'set', 'ul1', 'up');
    ip(ns, 'link', 'set', 'ul0', 'up');
    ip(ns, 'route', 'add', '10.99.0.0/16', 'via', '172.31.0.9'); // foreign, outside the cluster CIDR
    for (let step = 1; ; step++) {
      const label = `killed after overlay step ${String(step)}`;
      const r = await runFixture(ns, step);
      const restarted = await createOverlay(box.h('node'), SPEC);
      await restarted.apply(SECOND);
      expect(await restarted.check(), label).toEqual([]);
      const routes = ipJson<Array<{ dst: string; gateway?: string }>>(ns, '-4', 'route', 'show', 'proto', '78').map((x) => `${x.dst} via ${String(x.gateway)}`);
      expect(routes.sort(), `${label}: routes`).toEqual(['10.244.3.0/24 via 10.244.3.0', '10.244.4.0/24 via 10.244.4.0']);
      const fdb = (
        JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'ovx-crash'], { encoding: 'utf8' })) as Array<{ mac: string; dst?: string }>
      )
        .filter((f) => f.dst)
        .map((f) => `${f.mac} ${String(f.dst)}`);
      expect(fdb.sort(), `${label}: fdb`).toEqual(['0a:58:0a:f4:03:00 172.31.0.33', '0a:58:0a:f4:04:00 172.31.0.4']);
      expect(ipJson(ns, 'route', 'show', '10.99.0.0/16'), `${label}: foreign route`).toHaveLength(1);
      await restarted.delete();
      if (r.stdout.includes('"done":true')) {
        expect(step, 'apply() has step boundaries').toBeGreaterThan(4);
        break;
      }
      expect(r.signal, `${label}: ${r.stderr}`).toBe('SIGKILL');
    }
  }, 120_000);
});
