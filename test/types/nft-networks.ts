// Type-level checks for the nftables reads, the event streams and the
// networks layer (docs/api-conventions.md): listed objects are keys as they
// are, every stream has { type, action }, detach/unpublish take what was
// listed, and the deprecated type names are the same types. Compiled, never
// run (test/unit/api-types.test.ts).
import type {
  Handle,
  IpRule,
  IpRuleAction,
  IpRuleEvent,
  IpRuleFilter,
  IpRuleOptions,
  NetworkManager,
  Publication,
  Rule,
  RuleAction,
  RuleEvent,
  RuleFilter,
  RuleOptions,
  nft,
} from '../../lib';

declare const h: Handle;
declare const nets: NetworkManager;

export async function nftListedObjectsAreKeys(): Promise<void> {
  for (const t of await h.nft.tables.list({ family: 'inet' })) {
    const same: nft.Table = await h.nft.tables.get(t);
    const maybe: nft.Table | undefined = await h.nft.tables.find(t);
    void [same, maybe];
  }
  for (const c of await h.nft.chains.list({ family: 'inet', table: 'nat' })) await h.nft.chains.get(c);
  for (const r of await h.nft.rules.list({ family: 'inet', table: 'nat', chain: 'post' })) await h.nft.rules.get(r);
  for (const s of await h.nft.sets.list({ family: 'inet' })) {
    const elements: nft.SetElement[] = await h.nft.elements.list(s);
    void elements;
  }
  for (const o of await h.nft.objects.list({ type: 'counter' })) await h.nft.objects.find(o);
  const { rules }: nft.Ruleset = await h.nft.ruleset.get({ family: 'inet' });
  const { id }: nft.Generation = await h.nft.generation.get();
  void [rules, id];
  // @ts-expect-error tables have no chain to filter by
  await h.nft.tables.list({ chain: 'post' });
}

export async function everyStreamHasTypeAndAction(): Promise<void> {
  for await (const e of h.nft.events.subscribe({ includeExisting: true, resyncOnOverrun: true })) {
    if (e.type === 'overrun' || e.type === 'synced') continue;
    const action: 'new' | 'del' = e.action;
    if (e.type === 'rule') void e.rule.handle;
    void action;
  }
  for await (const e of h.events.subscribe({ groups: ['rule'] })) {
    if (e.type === 'rule') {
      const rule: IpRule = e.rule;
      const action: 'new' | 'del' = e.action;
      void [rule, action];
    }
  }
  // @ts-expect-error subscribe options are StreamOptions only
  h.nft.events.subscribe({ groups: ['link'] });
}

export async function networksTakeWhatTheyList(): Promise<void> {
  for (const p of await nets.publications.list({ network: 'web' })) {
    const removed: boolean = await nets.unpublish(p, { missingOk: true });
    const same: Publication = await nets.publications.get(p);
    void [removed, same];
  }
  const web = await nets.get('web');
  for (const a of web.attachments) await nets.detach('web', a);
  const one: boolean = await nets.detach('web', 'c1');
  const many: number = await nets.detach('web', ['c1', { id: 'c2' }], { missingOk: true });
  const gone: boolean = await nets.delete('web', { missingOk: true });
  void [one, many, gone];
  // @ts-expect-error detach takes { missingOk } only
  await nets.detach('web', 'c1', { force: true });
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** The deprecated names are the same types as the new ones. */
export const deprecatedTypeNames: [
  Equal<Rule, IpRule>,
  Equal<RuleAction, IpRuleAction>,
  Equal<RuleFilter, IpRuleFilter>,
  Equal<RuleOptions, IpRuleOptions>,
  Equal<RuleEvent, IpRuleEvent>,
] = [true, true, true, true, true];
