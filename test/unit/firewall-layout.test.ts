// The forward chain of nlkit's table as layout() computes it, in the
// canonical text check() compares with the kernel's listing: a published
// connection's client direction is accepted from anywhere but an internal
// network (nothing new leaves one, first of all), its replies only
// from the backend's network (its bridge, a source in its subnet, per
// family), any other reply from an nlkit bridge is dropped, and all that
// before the networks' crossing rules and the accept of replies.
import { describe, expect, it } from 'vitest';
import { layout, setDefinitions } from '../../lib/network/firewall/layout';
import { desiredText } from '../../lib/network/firewall/listing';
import type { HostState, NetworkRecord } from '../../lib/network/state';

function network(name: string, n: number, over: Partial<NetworkRecord> = {}): NetworkRecord {
  return {
    name,
    bridge: `nlk-${name}`,
    subnet: `10.80.${n}.0/24`,
    gateway: `10.80.${n}.1`,
    internal: false,
    isolate: true,
    masquerade: true,
    group: n,
    created: '2026-12-04T00:00:00.000Z',
    ...over,
  };
}

function forward(st: HostState): string[] {
  const sets = setDefinitions().map((s) => ({ ...s, elements: [] }));
  return layout(st)
    .rules.filter((r) => r.chain === 'forward')
    .map((r) => desiredText(r.rule, sets));
}

describe('firewall layout: the forward chain', () => {
  it('accepts the replies of published connections only from the backend network, per family, before anything crosses', () => {
    const st: HostState = {
      version: 1,
      networks: {
        web: network('web', 1, { subnet6: 'fd00:80:1::/64', gateway6: 'fd00:80:1::1' }),
        sealed: network('sealed', 2, { internal: true, masquerade: false }),
        open: network('open', 3, { isolate: false }),
      },
      attachments: {},
      publications: {},
    };
    expect(forward(st)).toEqual([
      'jump user',
      // an internal network: nothing new leaves its bridge, a published port elsewhere included
      'ct direction original iifname "nlk-sealed" oifname != "nlk-sealed" drop comment "net:sealed"',
      'ct status dnat ct direction original accept',
      'ct status dnat ct direction reply iifname "nlk-web" ip saddr 10.80.1.0/24 accept comment "net:web"',
      'ct status dnat ct direction reply iifname "nlk-web" ip6 saddr fd00:80:1::/64 accept comment "net:web"',
      'ct status dnat ct direction reply iifname "nlk-sealed" ip saddr 10.80.2.0/24 accept comment "net:sealed"',
      'ct status dnat ct direction reply iifname "nlk-open" ip saddr 10.80.3.0/24 accept comment "net:open"',
      'ct status dnat ct direction reply iifname @bridges drop',
      'iifname "nlk-web" oifname != "nlk-web" oifname @bridges drop comment "net:web"',
      'oifname "nlk-web" iifname != "nlk-web" iifname @bridges drop comment "net:web"',
      'iifname "nlk-sealed" oifname != "nlk-sealed" oifname @bridges drop comment "net:sealed"',
      'oifname "nlk-sealed" iifname != "nlk-sealed" iifname @bridges drop comment "net:sealed"',
      'ct state established,related accept',
      'oifname "nlk-web" iifname != "nlk-web" drop comment "net:web"',
      'iifname "nlk-sealed" oifname != "nlk-sealed" drop comment "net:sealed"',
      'oifname "nlk-sealed" iifname != "nlk-sealed" drop comment "net:sealed"',
      'oifname "nlk-open" iifname != @open drop comment "net:open"',
    ]);
  });
});
