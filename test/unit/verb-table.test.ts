// The verb table (docs/api-conventions.md) checked against the public
// surface: every method of every family bound to a handle, and every
// namespace function, is named with an allowed verb, or is a documented
// exception, or a deprecated alias of one. A new method with another verb
// fails here until the table (and the docs) say why.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as nlkit from '../../lib';

/** get (one by key), find (one or undefined), list, add, replace, set, delete, flush. */
const VERBS = ['get', 'find', 'list', 'add', 'replace', 'set', 'delete', 'flush'];

/** Methods named otherwise, and why (the same list is in docs/api-conventions.md). */
const EXCEPTIONS: Record<string, string> = {
  'routes.lookup': 'the kernel computes an answer (ip route get); no stored object is read',
  'fdb.append': 'bridge fdb append: one more destination for a MAC that has one',
  'links.deleteGroup': 'a delete by a selector (IFLA_GROUP) in one kernel request',
  'conntrack.count': "the kernel's counter for the namespace, one request instead of a listing",
  createNetns: 'namespaces are created (ip netns add), `add` of the namespace family',
  createAnonymousNetns: 'a namespace with no name, held by the returned fd',
  openNetns: 'get that opens: returns an owned reference to close',
  netnsExists: 'a boolean existence check on /run/netns (find without an object)',
};

/** Old names kept for one minor version, and what replaces them. */
const DEPRECATED: Record<string, string> = {
  'conntrack.deleteEntry': 'conntrack.delete(entry, { missingOk: true })',
};

/** The operation tables the handles bind, by family name. */
const FAMILIES: Record<string, object> = {
  links: nlkit.linkOps,
  linkStats: nlkit.linkStatsOps,
  addresses: nlkit.addressOps,
  addressLabels: nlkit.addressLabelOps,
  routes: nlkit.routeOps,
  neighbours: nlkit.neighbourOps,
  fdb: nlkit.fdbOps,
  rules: nlkit.ruleOps,
  nexthops: nlkit.nexthopOps,
  nsids: nlkit.nsidOps,
  netconf: nlkit.netconfOps,
  qdiscs: nlkit.qdiscOps,
  classes: nlkit.tcClassOps,
  conntrack: nlkit.conntrackOps,
  sockets: nlkit.socketDiagOps,
  bridgeVlans: nlkit.bridgeVlanOps,
  mdb: nlkit.mdbOps,
};

function verbOf(name: string): string {
  return name.match(/^[a-z]+/)![0];
}

function offTable(names: string[]): string[] {
  return names.filter((n) => {
    const bare = n.includes('.') ? n.split('.')[1] : n;
    return !VERBS.includes(bare) && !(n in EXCEPTIONS) && !(n in DEPRECATED);
  });
}

describe('verb table', () => {
  it('every method of every family is a verb of the table, a documented exception or a deprecated alias', () => {
    const names = Object.entries(FAMILIES).flatMap(([family, ops]) => Object.keys(ops).map((m) => `${family}.${m}`));
    expect(names.length).toBeGreaterThan(30);
    expect(offTable(names)).toEqual([]);
  });

  it('the families checked are the ones the handles bind', () => {
    const source = fs.readFileSync(path.join(__dirname, '../../lib/handle.ts'), 'utf8');
    // bound in place, or listed in the table of families bound on first read
    const bound = new Set([...source.matchAll(/bind(?:Async|Sync)\([^,]+,\s*(\w+)Ops|\w+: \(\) => (\w+)Ops,/g)].map((m) => m[1] ?? m[2]));
    const checked = new Set(
      Object.values(FAMILIES).map((ops) =>
        Object.entries(nlkit)
          .find(([, v]) => v === ops)![0]
          .replace(/Ops$/, ''),
      ),
    );
    expect([...bound].sort()).toEqual([...checked].sort());
  });

  it('namespace functions are verb + Netns (Sync for the blocking form), or documented exceptions', () => {
    const fns = Object.keys(nlkit).filter((k) => /netns/i.test(k) && typeof (nlkit as Record<string, unknown>)[k] === 'function' && k !== 'NetworkNamespace');
    expect(fns).toEqual(expect.arrayContaining(['createNetns', 'deleteNetns', 'listNetns', 'openNetns']));
    const off = fns
      .map((f) => f.replace(/Sync$/, ''))
      .filter((f) => {
        const m = f.match(/^([a-z]+)Netns$/);
        return !(f in EXCEPTIONS) && !(m && VERBS.includes(m[1]));
      });
    expect(off).toEqual([]);
  });

  it('sysctls are get and set', () => {
    const fns = Object.keys(nlkit).filter((k) => /Sysctl/.test(k));
    expect(fns.map(verbOf).every((v) => v === 'get' || v === 'set')).toBe(true);
  });

  it('deprecated aliases still exist, and the exceptions name real methods', () => {
    for (const name of [...Object.keys(EXCEPTIONS), ...Object.keys(DEPRECATED)]) {
      const [family, method] = name.includes('.') ? name.split('.') : [undefined, name];
      const where = family ? (FAMILIES[family] as Record<string, unknown>) : (nlkit as Record<string, unknown>);
      expect(typeof where[method], name).toBe('function');
    }
  });
});
