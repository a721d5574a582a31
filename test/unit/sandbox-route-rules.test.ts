// Which routes and policy rules of a sandbox take its traffic away from the network's default route
// (sandbox-default-route.ts, sandbox-route-rules.ts): the cases the integration tests do not make.
import { describe, expect, it } from 'vitest';
import type { Route } from '../../lib/rtnetlink/route-types';
import type { Rule } from '../../lib/rtnetlink/rule-types';
import { rivalRoutes } from '../../lib/network/sandbox-default-route';
import { rivalRules } from '../../lib/network/sandbox-route-rules';

const route = (dst: string, more: Partial<Route> = {}): Route => ({
  family: 4,
  dst,
  dstLength: dst === 'default' ? 0 : Number(dst.split('/')[1]),
  table: 'main',
  tableId: 254,
  protocol: 'boot',
  scope: 'global',
  type: 'unicast',
  flags: [],
  unknownAttributes: [],
  gateway: '10.97.0.1',
  link: 9,
  ...more,
});
const ours = route('default', { gateway: '10.68.0.1', link: 2, metric: 0 });
const rule = (priority: number, more: Partial<Rule> = {}): Rule => ({
  family: 4,
  priority,
  action: 'to_tbl',
  table: '100',
  tableId: 100,
  invert: false,
  tos: 0,
  protocol: 'boot',
  unknownAttributes: [],
  ...more,
});
const LOCAL = rule(0, { table: 'local', tableId: 255 });
const MAIN = rule(32766, { table: 'main', tableId: 254 });
const OWN = '10.68.0.2';
const table100 = [route('default', { table: '100', tableId: 100 })];
const taking = (rules: Rule[], routes = table100) => rivalRules([LOCAL, ...rules, MAIN], routes, ours, OWN).map((x) => x.rule.priority);

describe('routes wider than /8 in the main table', () => {
  it('a /1 to /7 going elsewhere wins; a /8, one going our way, or a source-specific one does not', () => {
    const routes = [
      ours,
      route('0.0.0.0/1'),
      route('128.0.0.0/7', { type: 'blackhole', gateway: undefined, link: undefined }),
      route('10.0.0.0/8'),
      route('64.0.0.0/2', { gateway: '10.68.0.1', link: 2 }),
      route('0.0.0.0/1', { src: '10.68.0.0/24', family: 4 }),
      route('0.0.0.0/1', { table: '100', tableId: 100 }),
    ];
    expect(rivalRoutes(routes, ours).map((r) => r.dst)).toEqual(['0.0.0.0/1', '128.0.0.0/7']);
  });
});

describe('policy rules before the main table', () => {
  it('from all, from its own address, iif lo, a wide to: taken; another source, a mark, an oif, a port: not', () => {
    expect(
      taking([
        rule(1),
        rule(2, { src: '10.68.0.0/24' }),
        rule(3, { iif: 'lo' }),
        rule(4, { dst: '0.0.0.0/1' }),
        rule(5, { src: '10.50.0.0/16' }),
        rule(6, { fwmark: 5, fwmask: 0xffffffff }),
        rule(7, { oif: 'eth1' }),
        rule(8, { dport: { start: 53, end: 53 } }),
        rule(9, { dst: '10.99.0.0/16' }),
        rule(10, { iif: 'eth0' }),
      ]),
    ).toEqual([1, 2, 3, 4]);
  });

  it('inverted: taken when its selector matches none of the packets (a mark, another source), not otherwise', () => {
    expect(
      taking([
        rule(1, { invert: true, fwmark: 0xca6c }),
        rule(2, { invert: true, src: '10.50.0.0/16' }),
        rule(3, { invert: true, src: '10.68.0.0/24' }),
        rule(4, { invert: true }),
      ]),
    ).toEqual([1, 2]);
  });

  it('rejecting rules are taken; goto, nop, l3mdev, main and local lookups are not followed', () => {
    expect(
      taking([
        rule(1, { action: 'blackhole', table: undefined, tableId: undefined }),
        rule(2, { action: 'prohibit', table: undefined, tableId: undefined }),
        rule(3, { action: 'goto', goto: 40000, table: undefined, tableId: undefined }),
        rule(4, { action: 'nop', table: undefined, tableId: undefined }),
        rule(5, { l3mdev: true, table: undefined, tableId: undefined }),
        rule(6, { table: 'main', tableId: 254, suppressPrefixLength: 0 }),
        rule(7, { table: 'local', tableId: 255 }),
      ]),
    ).toEqual([1, 2]);
  });

  it("a table's routes: a default or wide one going elsewhere counts, past the rule's suppress_prefixlength; throw does not", () => {
    const t = (r: Route[]) => taking([rule(1, { suppressPrefixLength: 0 }), rule(2)], r);
    expect(t([route('default', { table: '100', tableId: 100 })])).toEqual([2]); // suppressed for rule 1
    expect(t([route('0.0.0.0/1', { table: '100', tableId: 100 })])).toEqual([1, 2]);
    expect(t([route('default', { table: '100', tableId: 100, type: 'throw', gateway: undefined })])).toEqual([]);
    expect(t([route('default', { table: '100', tableId: 100, gateway: '10.68.0.1', link: 2 })])).toEqual([]); // our way
    expect(t([route('10.0.0.0/8', { table: '100', tableId: 100 })])).toEqual([]);
  });

  it('rules after the main table are not taken; with no main-table rule every rule counts', () => {
    expect(rivalRules([LOCAL, MAIN, rule(40000)], table100, ours, OWN)).toEqual([]);
    expect(rivalRules([LOCAL, rule(40000)], table100, ours, OWN).map((x) => x.rule.priority)).toEqual([40000]);
    expect(rivalRules([LOCAL, rule(1, { family: 6 }), MAIN], table100, ours, OWN)).toEqual([]); // another family
  });
});
