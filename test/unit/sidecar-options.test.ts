// intercept()'s options in normal form, and what they are refused for
// (before anything is written: no namespace is needed here).
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { interceptSpec } from '../../lib/sidecar/options';
import { routingOfComment, sidecarLayout, tableComment } from '../../lib/sidecar/layout';

describe('intercept options', () => {
  it('normalises: defaults, prefixes split by family with host bits cleared, duplicates dropped', () => {
    const spec = interceptSpec({
      netns: 'pod',
      mode: 'tproxy',
      outboundPort: 15001,
      exclude: { cidrs: ['10.1.2.3/8', '169.254.169.254', 'fd00::1/8'], uids: [1337, 1337], ports: [22] },
    });
    expect(spec).toEqual({
      mode: 'tproxy',
      outboundPort: 15001,
      uids: [1337],
      gids: [],
      marks: [],
      cidrs4: ['10.0.0.0/8', '169.254.169.254/32'],
      cidrs6: ['fd00::/8'],
      ports: [22],
      inboundPorts: [],
      ipv6: true,
      mark: 1,
      table: 133,
      rulePriority: 32000,
    });
  });

  it.each([
    [{ mode: 'redirect', outboundPort: 1 }, 'netns'],
    [{ netns: 'p', mode: 'REDIRECT', outboundPort: 1 }, 'mode'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 70000 }, 'outboundPort'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, inboundPort: 0 }, 'inboundPort'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, exclude: { uids: [-1] } }, 'exclude.uids[0]'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, exclude: { marks: 5 } }, 'exclude.marks'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, exclude: { cidrs: ['10.0.0.0/40'] } }, 'exclude.cidrs[0]'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, exclude: { port: [1] } }, 'exclude'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, outbound: 2 }, 'intercept options'],
    [{ netns: 'p', mode: 'tproxy', outboundPort: 1, mark: 0 }, 'mark'],
    [{ netns: 'p', mode: 'tproxy', outboundPort: 1, table: 255 }, 'table'],
    [{ netns: 'p', mode: 'tproxy', outboundPort: 1, ipv6: 'no' }, 'ipv6'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, stateDir: 5 }, 'stateDir'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, stateDir: 'run/nlkit' }, 'stateDir'],
    // one port for both ways would loop inbound traffic back through the proxy
    [{ netns: 'p', mode: 'tproxy', outboundPort: 15001, inboundPort: 15001 }, 'inboundPort'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, udp: { outboundPort: 15053, inboundPort: 15053 } }, 'udp.inboundPort'],
    // REDIRECT writes no routing: TPROXY's routing numbers would be silently ignored
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, mark: 2 }, 'mark'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, table: 134 }, 'table'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, rulePriority: 100 }, 'rulePriority'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, udp: { outboundPort: 0 } }, 'udp.outboundPort'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, udp: { outboundPort: 2, ports: 53 } }, 'udp.ports'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, udp: { outboundPort: 2, dport: [53] } }, 'udp'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, udp: {} }, 'udp'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, udp: 15006 }, 'udp'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, udp: { inboundPort: 0 } }, 'udp.inboundPort'],
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, udp: { inboundPort: '15006' } }, 'udp.inboundPort'],
    // ports narrows outbound UDP only: with inbound alone it would do nothing
    [{ netns: 'p', mode: 'redirect', outboundPort: 1, udp: { inboundPort: 15006, ports: [53] } }, 'udp.ports'],
  ])('refuses %j (field %s)', (opts, field) => {
    expect(() => interceptSpec(opts as never)).toThrow(ValidationError);
    expect(() => interceptSpec(opts as never)).toThrow(expect.objectContaining({ field }) as Error);
  });

  it('lays out REDIRECT without a prerouting chain when inbound is not intercepted, TPROXY with both', () => {
    const redirect = sidecarLayout(interceptSpec({ netns: 'p', mode: 'redirect', outboundPort: 15001 }));
    expect(redirect.map((c) => [c.name, c.type, c.priority])).toEqual([['output', 'nat', 'dstnat']]);
    expect(redirect[0].rules.map((r) => r.what)).toEqual(['replies', 'loopback', 'local destinations', 'outbound redirect']);
    const tproxy = sidecarLayout(interceptSpec({ netns: 'p', mode: 'tproxy', outboundPort: 15001, inboundPort: 15006, ipv6: false }));
    expect(tproxy.map((c) => [c.name, c.type, c.priority])).toEqual([
      ['output', 'route', 'mangle'],
      ['prerouting', 'filter', 'mangle'],
    ]);
    expect(tproxy[1].rules.map((r) => r.what)).toEqual(['IPv6 not intercepted', 'outbound tproxy', 'loopback', 'replies', 'inbound tproxy']);
  });

  it('lays out outbound UDP after TCP in both modes, with the port exclusions for UDP too', () => {
    const opts = { netns: 'p', outboundPort: 15001, udp: { outboundPort: 15053, ports: [53, 53] }, exclude: { ports: [22] } } as const;
    expect(interceptSpec({ ...opts, mode: 'redirect' }).udp).toEqual({ outboundPort: 15053, ports: [53], zone: 0x6e6c });
    const redirect = sidecarLayout(interceptSpec({ ...opts, mode: 'redirect' }));
    expect(redirect[0].rules.map((r) => r.what)).toEqual([
      'replies',
      'loopback',
      'local destinations',
      'excluded ports',
      'excluded UDP ports',
      'outbound redirect',
      'outbound UDP redirect',
    ]);
    const tproxy = sidecarLayout(interceptSpec({ ...opts, mode: 'tproxy' }));
    expect(tproxy[0].rules.map((r) => r.what).slice(-2)).toEqual(['outbound mark', 'outbound UDP mark']);
    expect(tproxy[1].rules.map((r) => r.what)).toEqual(['outbound tproxy', 'outbound UDP tproxy', 'loopback']);
  });

  it("REDIRECT with outbound UDP: the proxy's own UDP (by uid, gid, mark) gets its original tuple's conntrack zone, in a raw output chain", () => {
    const opts = { netns: 'p', outboundPort: 15001, mode: 'redirect', udp: { outboundPort: 15053 } } as const;
    const chains = sidecarLayout(interceptSpec({ ...opts, exclude: { uids: [1337], gids: [1338], marks: [0x539] }, ipv6: false }));
    const zone = chains.find((c) => c.name === 'proxy-zone');
    expect(zone).toMatchObject({ type: 'filter', hook: 'output', priority: 'raw' });
    expect(zone?.rules.map((r) => r.what)).toEqual(['IPv6 not intercepted', "the proxy's UDP by uid", "the proxy's UDP by gid", "the proxy's UDP by mark"]);
    expect(chains.at(-1)).toBe(zone);
    const withZone = sidecarLayout(interceptSpec({ ...opts, udp: { outboundPort: 15053, zone: 7 }, exclude: { marks: [0x539] } }));
    expect(withZone.find((c) => c.name === 'proxy-zone')?.rules.map((r) => r.what)).toEqual(["the proxy's UDP by mark"]);
    // Not needed: no outbound UDP, TPROXY (marked packet by packet), or no proxy to tell apart (only CIDR/port exclusions).
    expect(sidecarLayout(interceptSpec({ ...opts, udp: { inboundPort: 15007 }, exclude: { marks: [1] } })).map((c) => c.name)).not.toContain('proxy-zone');
    expect(sidecarLayout(interceptSpec({ ...opts, mode: 'tproxy', exclude: { marks: [2] } })).map((c) => c.name)).not.toContain('proxy-zone');
    expect(sidecarLayout(interceptSpec({ ...opts, exclude: { cidrs: ['10.0.0.0/8'] } })).map((c) => c.name)).not.toContain('proxy-zone');
    expect(() => interceptSpec({ ...opts, udp: { outboundPort: 15053, zone: 0 } })).toThrow(/udp\.zone/);
    expect(() => interceptSpec({ ...opts, udp: { outboundPort: 15053, zone: 65536 } })).toThrow(/udp\.zone/);
  });

  it('lays out inbound UDP after inbound TCP in both modes, exclude.inboundPorts applying to UDP too', () => {
    const opts = { netns: 'p', outboundPort: 15001, inboundPort: 15006, udp: { inboundPort: 15007 }, exclude: { inboundPorts: [15021] } } as const;
    expect(interceptSpec({ ...opts, mode: 'redirect' }).udp).toEqual({ inboundPort: 15007, ports: [], zone: 0x6e6c });
    const redirect = sidecarLayout(interceptSpec({ ...opts, mode: 'redirect' }));
    // inbound UDP only: outbound UDP is neither redirected nor excluded by port
    expect(redirect[0].rules.map((r) => r.what)).toEqual(['replies', 'loopback', 'local destinations', 'outbound redirect']);
    expect(redirect[1].rules.map((r) => r.what)).toEqual([
      'loopback',
      'excluded inbound ports',
      'inbound redirect',
      'excluded inbound UDP ports',
      'inbound UDP redirect',
    ]);
    const tproxy = sidecarLayout(interceptSpec({ ...opts, mode: 'tproxy' }));
    expect(tproxy[0].rules.map((r) => r.what)).toEqual(['replies', 'loopback', 'local destinations', 'outbound mark']);
    expect(tproxy[1].rules.map((r) => r.what)).toEqual([
      'outbound tproxy',
      'loopback',
      'replies',
      'excluded inbound ports',
      'inbound tproxy',
      'excluded inbound UDP ports',
      'inbound UDP tproxy',
    ]);
    // inbound UDP without inbound TCP: a prerouting chain all the same, with the UDP rules only
    const udpOnly = { netns: 'p', outboundPort: 15001, udp: { outboundPort: 15053, inboundPort: 15007 } } as const;
    expect(sidecarLayout(interceptSpec({ ...udpOnly, mode: 'redirect' }))[1].rules.map((r) => r.what)).toEqual(['loopback', 'inbound UDP redirect']);
    expect(sidecarLayout(interceptSpec({ ...udpOnly, mode: 'tproxy' }))[1].rules.map((r) => r.what)).toEqual([
      'outbound tproxy',
      'outbound UDP tproxy',
      'loopback',
      'replies',
      'inbound UDP tproxy',
    ]);
  });

  it("trusts a table comment's routing only within intercept()'s own limits (a forged comment must not name the main table)", () => {
    const spec = interceptSpec({ netns: 'p', mode: 'tproxy', outboundPort: 1, mark: 7, table: 300, rulePriority: 100 });
    expect(routingOfComment(tableComment(spec))).toEqual({ mode: 'tproxy', mark: 7, table: 300, rulePriority: 100, ipv6: true });
    for (const forged of ['table=254', 'table=253', 'table=255', 'table=0', 'table=4294967295'])
      expect(routingOfComment(`nlkit sidecar mode=tproxy mark=1 ${forged} priority=32000 ipv6=1`)).toBeUndefined();
    expect(routingOfComment('nlkit sidecar mode=tproxy mark=0 table=133 priority=32000 ipv6=1')).toBeUndefined();
    expect(routingOfComment('nlkit sidecar mode=tproxy mark=4294967296 table=133 priority=32000 ipv6=1')).toBeUndefined();
    expect(routingOfComment('nlkit sidecar mode=tproxy mark=1 table=133 priority=0 ipv6=1')).toBeUndefined();
  });
});
