// The verb table (docs/api-conventions.md) checked against the nftables
// read families (h.nft.tables, chains, rules, sets, elements, objects,
// ruleset, generation) and the networks layer: every method is a verb of the
// table, a documented exception, or a deprecated alias.
import { describe, expect, it } from 'vitest';
import { nft } from '../../lib';
import { Nftables } from '../../lib/nftables/api';
import { NetworkManager } from '../../lib/network/manager';

const VERBS = ['get', 'find', 'list', 'add', 'replace', 'set', 'delete', 'flush'];

/** Named otherwise, and why. */
const EXCEPTIONS: Record<string, string> = {
  'nft.transaction': 'changes to nftables are queued in a transaction and committed atomically',
  'nft.objects.reset': '`nft reset counter`: reads and zeroes an object in one kernel step, returning it as it was',
  'nft.rules.reset': '`nft reset rule`: reads a rule and zeroes its counters and quotas in one kernel step, returning it as it was',
  'networks.create': '`docker network create`: creating an identical network again changes nothing (a different one is a ValidationError)',
  'networks.attach': 'adds a sandbox to a network: veth pair, address, routes (all or nothing)',
  'networks.detach': 'the delete of attach: same return and missing rules as delete (a list: how many)',
  'networks.detachAll': "the flush of a network's attachments: resolves to how many",
  'networks.publish': 'adds a publication (map element or rules); publishing the same thing again changes nothing',
  'networks.unpublish': 'the delete of publish: same return and missing rules as delete',
  'networks.setBackends': "the set of a publication's backends, in one atomic transaction",
  'networks.check': 'compares the record with the kernel (drift), changes nothing',
  'networks.reconcile': 'repairs drift',
  'networks.close': "the manager's life cycle",
  'networks.state': 'internal, for tests',
};

/** Old names kept for one minor version. */
const DEPRECATED: Record<string, string> = {
  'nft.listTables': 'nft.tables.list',
  'nft.listChains': 'nft.chains.list',
  'nft.listRules': 'nft.rules.list',
  'nft.listSets': 'nft.sets.list',
  'nft.getSet': 'nft.sets.get',
  'nft.listElements': 'nft.elements.list',
  'nft.listObjects': 'nft.objects.list',
  'nft.listRuleset': 'nft.ruleset.get',
  'networks.inspect': 'networks.find',
  'networks.detachMany': 'networks.detach(network, ids, { missingOk: true })',
};

function methods(proto: object): string[] {
  return Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, n)?.value === 'function');
}

function offTable(names: string[]): string[] {
  return names.filter((n) => !VERBS.includes(n.split('.').at(-1)!) && !(n in EXCEPTIONS) && !(n in DEPRECATED));
}

describe('verb table: nftables reads and networks', () => {
  it('every method of h.nft.tables, chains, rules, sets, elements, objects, ruleset, generation, flowtables is a verb', () => {
    const families = {
      tables: nft.nftTableOps,
      chains: nft.nftChainOps,
      rules: { ...nft.nftRuleOps, ...nft.nftRuleResetOps },
      sets: nft.nftSetOps,
      elements: { ...nft.nftElementOps, ...nft.nftElementGetOps },
      objects: { ...nft.nftObjectOps, ...nft.nftObjectResetOps },
      ruleset: nft.nftRulesetOps,
      generation: nft.nftGenerationOps,
      flowtables: nft.nftFlowtableOps,
    };
    const names = Object.entries(families).flatMap(([f, ops]) => Object.keys(ops).map((m) => `nft.${f}.${m}`));
    expect(names).toHaveLength(25);
    expect(offTable(names)).toEqual([]);
  });

  it('h.nft itself has only transaction() and deprecated aliases as methods', () => {
    expect(
      offTable(
        methods(Nftables.prototype)
          .filter((m) => m !== 'closeAll' && m !== 'refuseNew') // @internal: the handle's close
          .map((m) => `nft.${m}`),
      ),
    ).toEqual([]);
  });

  it('every method of a network manager is a verb, a documented exception or a deprecated alias', () => {
    const names = methods(NetworkManager.prototype)
      .filter((m) => m !== 'reconcileContext') // private
      .map((m) => `networks.${m}`);
    expect(names).toEqual(expect.arrayContaining(['networks.get', 'networks.find', 'networks.list', 'networks.delete']));
    expect(offTable(names)).toEqual([]);
  });
});
