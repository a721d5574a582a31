// The decisions behind multi-network attachments and port publishing, without a kernel:
// interface names, default-route and namespace hand-over, which host sockets are in a
// publication's way, and the option checks.
import { describe, expect, it } from 'vitest';
import { PortInUseError, ValidationError, type InetSocket } from '../../lib';
import { checkListenerConflictChoice, onListenerConflict, socketsInTheWay, socketsOnPorts } from '../../lib/network/host-listeners';
import { wantsAnyPort } from '../../lib/network/host-port-allocation';
import { checkDefaultRoute, chooseIfname, handOverDefaultRoute, handOverSandboxes } from '../../lib/network/multi-network';
import { checkSetBackendsOptions, checkUnpublishOptions } from '../../lib/network/publishing';
import type { AttachmentRecord, HostState, StateEdits } from '../../lib/network/state';

function att(network: string, id: string, sandboxPath: string, more: Partial<AttachmentRecord> = {}): AttachmentRecord {
  return { network, id, sandboxPath, ownsSandbox: false, ifname: 'eth0', hostIfname: `nv-${network}-${id}`, mac: '02:00:00:00:00:01', ...more };
}

function stateOf(...atts: AttachmentRecord[]): HostState {
  const st: HostState = { version: 1, networks: {}, attachments: {}, publications: {} };
  for (const a of atts) (st.attachments[a.network] ??= {})[a.id] = a;
  return st;
}

/** Records what a hand-over puts. */
function recorder(): { edits: StateEdits; put: AttachmentRecord[] } {
  const put: AttachmentRecord[] = [];
  return { edits: { putAttachment: (a: AttachmentRecord) => put.push(a) } as unknown as StateEdits, put };
}

function sock(address: string, port: number, family: 4 | 6 = address.includes(':') ? 6 : 4): InetSocket {
  return { family, protocol: 'tcp', state: 'listen', local: { address, port }, peer: { address: family === 4 ? '0.0.0.0' : '::', port: 0 }, uid: 0, inode: 1 };
}

describe('multi-network attachments', () => {
  it('names interfaces eth0, eth1, ... by what the same sandbox uses on other networks; an asked name wins', () => {
    const st = stateOf(att('a', 's', '/run/netns/s', { ifname: 'eth0' }), att('b', 's', '/run/netns/s', { ifname: 'eth2' }), att('a', 't', '/run/netns/t'));
    expect(chooseIfname(st, '/run/netns/s', undefined)).toBe('eth1');
    expect(chooseIfname(st, '/run/netns/new', undefined)).toBe('eth0');
    expect(chooseIfname(st, '/run/netns/s', 'uplink0')).toBe('uplink0');
  });

  it('takes the default route from the sandbox’s other attachments only, and only when it carries it', () => {
    const st = stateOf(
      att('a', 's', '/run/netns/s', { defaultRoute: true }),
      att('b', 's', '/run/netns/s', { defaultRoute: false }),
      att('legacy', 's', '/run/netns/s'), // records of older versions: every attachment had one
      att('a', 't', '/run/netns/t', { defaultRoute: true }),
    );
    const { edits, put } = recorder();
    handOverDefaultRoute(st, edits, att('c', 's', '/run/netns/s', { defaultRoute: true }));
    expect(put.map((p) => `${p.network}/${p.id} ${p.defaultRoute}`).sort()).toEqual(['a/s false', 'legacy/s false']);
    const none = recorder();
    handOverDefaultRoute(st, none.edits, att('c', 's', '/run/netns/s', { defaultRoute: false }));
    expect(none.put).toEqual([]);
  });

  it('keeps a namespace nlkit created while another network uses it, handing the ownership over', () => {
    const owner = att('a', 's', '/run/netns/s', { ownsSandbox: true, sandboxName: 's' });
    const st = stateOf(owner, att('b', 's', '/run/netns/s'), att('a', 'u', '/run/netns/u', { ownsSandbox: true, sandboxName: 'u' }));
    const { edits, put } = recorder();
    const unused = handOverSandboxes(st, edits, [owner, st.attachments.a.u]);
    expect(put).toEqual([expect.objectContaining({ network: 'b', id: 's', ownsSandbox: true })]);
    expect(unused.map((a) => a.id)).toEqual(['u']);
    // both of a sandbox's attachments going at once: the namespace goes
    const both = recorder();
    expect(handOverSandboxes(st, both.edits, [owner, st.attachments.b.s]).map((a) => a.id)).toEqual(['s']);
    expect(both.put).toEqual([]);
  });

  it('checks defaultRoute', () => {
    expect([checkDefaultRoute(undefined), checkDefaultRoute(true), checkDefaultRoute(false)]).toEqual([undefined, true, false]);
    expect(() => checkDefaultRoute('yes')).toThrow(ValidationError);
  });
});

describe('publishing: host sockets in the way', () => {
  const sockets = [sock('0.0.0.0', 80), sock('127.0.0.1', 8080), sock('::', 443), sock('::ffff:10.0.0.1', 9000), sock('fd00::1', 9001), sock('10.0.0.1', 9002)];

  it('counts a socket on the port when either side is on every address, or both on the same one', () => {
    const hit = (lo: number, hi: number, hostIp?: string) => socketsInTheWay(sockets, lo, hi, hostIp).map((s) => `${s.local.address}:${s.local.port}`);
    expect(hit(80, 80)).toEqual(['0.0.0.0:80']);
    expect(hit(80, 80, '10.0.0.9')).toEqual(['0.0.0.0:80']); // a wildcard listener is in every address's way
    expect(hit(8080, 8080, '127.0.0.1')).toEqual(['127.0.0.1:8080']);
    expect(hit(8080, 8080, '10.0.0.1')).toEqual([]); // another address: no clash
    expect(hit(443, 443, '10.0.0.1')).toEqual([':::443']); // dual-stack ::
    expect(hit(9000, 9002, '10.0.0.1')).toEqual(['::ffff:10.0.0.1:9000', '10.0.0.1:9002']); // a range; v4-mapped counts as v4
    expect(hit(9000, 9002)).toHaveLength(3);
    expect(hit(81, 442)).toEqual([]);
  });

  it('does not count a socket on ::1 (no publication takes ::1), while a chosen port still avoids it', () => {
    const local = [sock('::1', 8081), sock('127.0.0.1', 8081), sock('::1', 8082)];
    const hit = (lo: number, hi: number, hostIp?: string) => socketsInTheWay(local, lo, hi, hostIp).map((s) => `${s.local.address}:${s.local.port}`);
    expect(hit(8081, 8082)).toEqual(['127.0.0.1:8081']); // 127.0.0.1 is published on every address (route_localnet); ::1 is not
    expect(hit(8082, 8082)).toEqual([]);
    expect(socketsOnPorts(local, 8082, 8082, undefined)).toHaveLength(1); // what hostPort: 0 avoids
  });

  it('refuses with PortInUseError, warns with a code, or ignores, as chosen', async () => {
    const inTheWay = [sock('0.0.0.0', 80), sock('fd00::1', 80)];
    const err = (() => {
      try {
        onListenerConflict('refuse', 'tcp', 80, inTheWay);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(PortInUseError);
    expect(err).toMatchObject({ protocol: 'tcp', hostPort: 80, sockets: ['*:80', '[fd00::1]:80'], field: 'hostPort' });
    const warned = new Promise<Error & { code?: string }>((resolve) => process.once('warning', resolve));
    onListenerConflict('warn', 'tcp', 80, inTheWay);
    expect(await warned).toMatchObject({ name: 'NlkitWarning', code: 'NLKIT_PUBLISH_PORT_IN_USE' });
    expect(() => onListenerConflict('ignore', 'tcp', 80, inTheWay)).not.toThrow();
    expect(() => onListenerConflict('refuse', 'tcp', 80, [])).not.toThrow();
    expect(checkListenerConflictChoice(undefined)).toBe('refuse');
    expect(() => checkListenerConflictChoice('Refuse')).toThrow(ValidationError);
  });
});

describe('publishing: options', () => {
  it('cutFlows defaults to true and must be a boolean; unknown keys are refused', () => {
    expect(checkUnpublishOptions(undefined)).toEqual({ missingOk: false, cutFlows: true });
    expect(checkUnpublishOptions({ missingOk: true, cutFlows: false })).toEqual({ missingOk: true, cutFlows: false });
    expect(checkSetBackendsOptions(undefined)).toBe(true);
    expect(checkSetBackendsOptions({ cutFlows: false })).toBe(false);
    for (const bad of [
      () => checkUnpublishOptions({ cutFlows: 0 }),
      () => checkUnpublishOptions({ force: true }),
      () => checkSetBackendsOptions({ missingOk: true }),
    ]) {
      expect(bad).toThrow(ValidationError);
    }
  });

  it('hostPort 0 (or "0") asks for any port', () => {
    expect([0, '0', 8080, '8000-8010', '00'].map(wantsAnyPort)).toEqual([true, true, false, false, false]);
  });
});
