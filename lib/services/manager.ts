/**
 * Services on one host: virtual IPs spread over endpoints, kube-proxy's
 * nftables design run in-process (see layout.ts). Same host-namespace model
 * and state directory as `networks()`: a daemon holds one ServiceManager
 * next to its NetworkManager and feeds it from a watch loop with
 * `apply(desired)`, which commits only the difference.
 *
 * Each change is one lock, one intent journal line, one small transaction
 * (the changed services' map elements, and affinity ports' chains, only) and one record file per
 * changed service: kernel first, then the record, so a process killed in
 * between leaves drift that check() reports and reconcile() undoes.
 * @module
 */
import { open, type Handle } from '../handle';
import { ENOENT } from '../netlink/errno';
import { checkDeleteOptions, NotFoundError, ValidationError } from '../netlink/errors';
import type { NetnsRef } from '../netns/namespace';
import { NftCommandError } from '../nftables/errors';
import { stepDone } from '../network/fault';
import { clearIntent, pendingIntents, withIntent } from '../network/intents';
import { defaultStateDir } from '../network/state-dir';
import { keysOf, rejectUnknownKeys } from '../validate/options';
import { claimsMore, refuseSharedClaims } from './claims';
import { compareServices, repairable, type ServiceDrift } from './drift';
import { ServiceEvents } from './events';
import { cutServiceFlows } from './flows';
import { tableLayout } from './layout';
import { mapPacked } from './packed';
import {
  toServiceRecord,
  validateServiceName,
  type EndpointRecord,
  type Service,
  type ServicePortRecord,
  type ServicePortSpec,
  type ServiceRecord,
  type ServiceSpec,
} from './spec';
import { specialIpReason } from './special-ips';
import { refuseHostVips } from './host-vips';
import { foreignObjectsIn } from './ownership';
import { ServiceStore } from './store';
import { LayoutPair } from './layout-objects';
import { objectsOf, queueChanges, queueTable, queueTableRemoval } from './table';

export type { ServiceDrift } from './drift';

export interface ServiceManagerOptions {
  /** The namespace playing the host. Default: the caller's. */
  host?: NetnsRef;
  /** Default /run/nlkit/<host>, as for `networks()`; services live in its `services/` directory. */
  stateDir?: string;
}

/** Options of changes that can remove endpoints. */
export interface ServiceChangeOptions {
  /** Cut the established flows to endpoints that left the service (their conntrack entries; default true). false drains them. */
  cutFlows?: boolean;
}

/** What `apply()` changed. */
export interface ApplyResult {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}

/** The part of a service `set()` changes. */
export type ServiceChanges = Partial<Omit<ServiceSpec, 'name'>>;

const MANAGER_KEYS = keysOf<ServiceManagerOptions>()(['host', 'stateDir']);
/** Services per transaction in apply(): big enough to amortise, small enough to stay well inside a netlink batch. */
const APPLY_CHUNK = 2500;

interface Change {
  before?: ServiceRecord;
  after?: ServiceRecord;
}

function notFound(name: string, operation: string): NotFoundError {
  return new NotFoundError('service', { errno: ENOENT, operation, extack: `service ${name} does not exist` });
}

function cutFlowsOf(opts: unknown, field: string): boolean {
  const v = rejectUnknownKeys(opts as ServiceChangeOptions | undefined, ['cutFlows'], field)?.cutFlows;
  if (v !== undefined && typeof v !== 'boolean') throw new ValidationError('cutFlows', v, 'must be a boolean');
  return v !== false;
}

/**
 * The spec of a recorded service with `changes` applied (a key present in
 * `changes` wins, as with a spread), built as one literal: spreading the
 * two made objects of hidden classes that die with them, and the optimised
 * validation code that met a new one was thrown away.
 */
function changedSpec(rec: ServiceRecord, changes: ServiceChanges): ServiceSpec {
  const has = (k: keyof ServiceChanges) => Object.hasOwn(changes, k);
  const affinity = rec.affinitySeconds === undefined ? undefined : { timeoutSeconds: rec.affinitySeconds };
  return {
    name: rec.name,
    vips: has('vips') ? (changes.vips as string[]) : rec.vips,
    externalIps: has('externalIps') ? changes.externalIps : rec.externalIps,
    ports: has('ports') ? (changes.ports as ServicePortSpec[]) : rec.ports,
    endpoints: has('endpoints') ? changes.endpoints : rec.endpoints,
    sessionAffinity: has('sessionAffinity') ? changes.sessionAffinity : affinity,
  };
}

const sameList = <T>(a: readonly T[], b: readonly T[], eq: (x: T, y: T) => boolean): boolean => a.length === b.length && a.every((x, i) => eq(x, b[i]));
const is = <T>(x: T, y: T): boolean => x === y;
const samePort = (a: ServicePortRecord, b: ServicePortRecord): boolean =>
  a.protocol === b.protocol && a.port === b.port && a.targetPort === b.targetPort && a.nodePort === b.nodePort;
const sameEndpoint = (a: EndpointRecord, b: EndpointRecord): boolean =>
  a.ip === b.ip && a.port === b.port && a.weight === b.weight && a.ready === b.ready && a.serving === b.serving && a.terminating === b.terminating;

/** Whether two records say the same, field by field (as their JSON would: canonical records, in order). */
function same(a: ServiceRecord | undefined, b: ServiceRecord | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.name === b.name &&
    a.affinitySeconds === b.affinitySeconds &&
    sameList(a.vips, b.vips, is) &&
    sameList(a.externalIps, b.externalIps, is) &&
    sameList(a.ports, b.ports, samePort) &&
    sameList(a.endpoints, b.endpoints, sameEndpoint)
  );
}

/** The kernel refused a shared map's declaration (table.ts queueChanges): the map exists with another definition. */
const redefinedMap = (e: unknown): boolean => e instanceof NftCommandError && e.code === 'EEXIST' && /^add (map|set) /.test(e.description);

/**
 * Services on one host. Get one with {@link services}. Verbs as everywhere
 * in nlkit: `list`, `get`, `find`, `add`, `replace`, `set`, `delete`; and
 * `apply(desired)` for watch loops.
 * @example
 * const svcs = await services({ host: 'host1' });
 * await svcs.add({ name: 'web', vips: ['10.96.0.10'], ports: [{ port: 80 }], endpoints: [{ ip: '10.88.0.2' }] });
 */
export class ServiceManager {
  private baseReady = false;
  /** What this manager did, as a stream: `svcs.events.subscribe()` (see {@link ServiceEvents}). */
  readonly events = new ServiceEvents((read) => this.store.locked(() => Promise.resolve(read(this.store.readAll()))));

  /** @internal use {@link services} */
  constructor(
    private readonly host: Handle,
    private readonly store: ServiceStore,
  ) {}

  /**
   * Every service on this host.
   * @example
   * for (const s of await svcs.list()) console.log(s.name, s.vips, s.endpoints.length);
   */
  list(): Promise<Service[]> {
    // A corrupt record file rejects the promise (CorruptStateError), as every other call's does: not thrown at the call.
    return new Promise((resolve) => resolve([...this.store.readAll().values()]));
  }

  /**
   * Like `get`, but undefined when there is no such service.
   * @example
   * if (!(await svcs.find('web'))) console.log('no web service');
   */
  find(name: string): Promise<Service | undefined> {
    return new Promise((resolve) => resolve(this.store.read(validateServiceName(name))));
  }

  /**
   * One service; NotFoundError when there is none.
   * @example
   * const web = await svcs.get('web');
   */
  async get(name: string): Promise<Service> {
    const s = await this.find(name);
    if (!s) throw notFound(name, `get service ${name}`);
    return s;
  }

  /**
   * Creates a service; ValidationError (field "name") if one of that name exists.
   * @example
   * await svcs.add({ name: 'db', vips: ['10.96.0.20', 'fd00:96::20'], ports: [{ port: 5432 }], endpoints: [{ ip: '10.88.0.5' }] });
   */
  async add(spec: ServiceSpec): Promise<void> {
    const rec = toServiceRecord(spec);
    await this.commit([rec.name], (recorded) => {
      if (recorded.get(rec.name)) throw new ValidationError('name', rec.name, 'a service of that name exists (use replace or set)');
      return [{ after: rec }];
    });
  }

  /**
   * Creates a service, or replaces the one of the same name (one transaction: established flows to endpoints that stay go on).
   * @example
   * await svcs.replace({ name: 'web', vips: ['10.96.0.10'], ports: [{ port: 80 }], endpoints: [{ ip: '10.88.0.2', weight: 9 }, { ip: '10.88.0.3', weight: 1 }] });
   */
  async replace(spec: ServiceSpec, opts?: ServiceChangeOptions): Promise<void> {
    const rec = toServiceRecord(spec);
    const cut = cutFlowsOf(opts, 'replace options');
    await this.commit([rec.name], (recorded) => [{ before: recorded.get(rec.name), after: rec }], cut);
  }

  /**
   * Changes part of an existing service (endpoints, weights, ports, ...); NotFoundError when there is none.
   * @example
   * await svcs.set('web', { endpoints: [{ ip: '10.88.0.2', weight: 1 }, { ip: '10.88.0.3', weight: 1 }] });
   */
  async set(name: string, changes: ServiceChanges, opts?: ServiceChangeOptions): Promise<void> {
    validateServiceName(name);
    const c = rejectUnknownKeys(changes, ['vips', 'externalIps', 'ports', 'endpoints', 'sessionAffinity'], 'service changes');
    const cut = cutFlowsOf(opts, 'set options');
    await this.commit(
      [name],
      (recorded) => {
        const before = recorded.get(name);
        if (!before) throw notFound(name, `set service ${name}`);
        return [{ before, after: toServiceRecord(changedSpec(before, c ?? {})) }];
      },
      cut,
    );
  }

  /**
   * Removes a service (its flows cut unless `cutFlows: false`); false with `missingOk` when there is none.
   * @example
   * await svcs.delete('web', { missingOk: true });
   */
  async delete(name: string, opts?: { missingOk?: boolean; cutFlows?: boolean }): Promise<boolean> {
    validateServiceName(name);
    const o = rejectUnknownKeys(opts, ['missingOk', 'cutFlows'], 'delete options');
    const missingOk = checkDeleteOptions(o && { missingOk: o.missingOk });
    const cut = cutFlowsOf(o && { cutFlows: o.cutFlows }, 'delete options');
    const seen = { found: false };
    await this.commit(
      [name],
      (recorded) => {
        const before = recorded.get(name);
        seen.found = !!before;
        return before ? [{ before }] : [];
      },
      cut,
    );
    if (!seen.found && !missingOk) throw notFound(name, `delete service ${name}`);
    return seen.found;
  }

  /**
   * Makes the host's services exactly `desired`: adds, changes and removes
   * only what differs (idempotent: a second call with the same list sends
   * nothing). Every spec is validated before anything is changed.
   * @example
   * const r = await svcs.apply([{ name: 'web', vips: ['10.96.0.10'], ports: [{ port: 80 }], endpoints }]);
   * console.log(r.added, r.changed, r.removed);
   */
  async apply(desired: ServiceSpec[], opts?: ServiceChangeOptions): Promise<ApplyResult> {
    if (!Array.isArray(desired)) throw new ValidationError('desired', desired, 'must be an array of services');
    const cut = cutFlowsOf(opts, 'apply options');
    const wanted = new Map<string, ServiceRecord>();
    for (const spec of desired) {
      const rec = toServiceRecord(spec);
      if (wanted.has(rec.name)) throw new ValidationError('name', rec.name, 'appears twice in the desired services');
      wanted.set(rec.name, rec);
    }
    refuseSharedClaims([...wanted.values()], () => []); // the desired services are all there will be
    const result: ApplyResult = { added: [], changed: [], removed: [], unchanged: 0 };
    await this.store.locked(async () => {
      const recorded = this.store.readAll();
      const changes: Change[] = [];
      for (const [name, after] of wanted) {
        const before = recorded.get(name);
        if (same(before, after)) result.unchanged++;
        else {
          changes.push({ before, after });
          (before ? result.changed : result.added).push(name);
        }
      }
      for (const [name, before] of recorded) {
        if (!wanted.has(name)) {
          changes.push({ before });
          result.removed.push(name);
        }
      }
      await refuseHostVips(this.host, changes); // before any chunk is committed
      for (let i = 0; i < changes.length; i += APPLY_CHUNK) await this.commitLocked(recorded, changes.slice(i, i + APPLY_CHUNK), cut);
    });
    return result;
  }

  /**
   * Every difference between the recorded services and the kernel (someone's
   * `nft` command, a flushed ruleset), operations a dead process left
   * halfway, and recorded addresses no service can have (`address-special`:
   * a loopback or multicast VIP an older nlkit recorded). A record file that
   * is not a record of its service (not JSON, a field missing or of the
   * wrong type, filed under another name) is a {@link CorruptStateError}
   * naming the file and what is wrong, never read as no service; so is an
   * intent journal line that is not one (a line cut at the end of the
   * journal, by a process killed while writing it, is not corruption).
   * @example
   * for (const d of await svcs.check()) console.log(d.service, d.kind, d.detail);
   */
  async check(): Promise<ServiceDrift[]> {
    const interrupted = pendingIntents(this.store.dir).filter((p) => !p.live);
    const recorded = this.store.readAll();
    const diff = await compareServices(this.host, recorded.values());
    const drift = [
      ...interrupted.map((p): ServiceDrift => ({ service: p.record.publication ?? '', kind: 'interrupted', detail: `process ${p.record.pid} died halfway` })),
      ...specialAddresses(recorded.values()),
      ...diff.drift,
    ];
    this.events.drift('new', drift);
    return drift;
  }

  /**
   * Repairs what check() reports, in one transaction: the table is made to
   * match the records again (an operation that died after its commit is
   * rolled back to what was recorded). Returns what was found. An
   * `address-special` drift is reported, not repaired (the record is the
   * caller's to change). A corrupt record file or journal is a
   * {@link CorruptStateError}, thrown before anything is changed: read as
   * no service, it would have the service's dispatch elements deleted.
   * @example
   * const fixed = await svcs.reconcile();
   */
  async reconcile(): Promise<ServiceDrift[]> {
    return this.store.locked(async () => {
      const found = await this.check();
      const diff = await compareServices(this.host, this.store.readAll().values());
      const tx = this.host.nft.transaction();
      diff.repair(tx);
      if (tx.size) await tx.commit({ echo: 'none' });
      for (const p of pendingIntents(this.store.dir).filter((i) => !i.live)) clearIntent(p);
      this.baseReady = !this.store.isEmpty(); // with no service there is no table (a leftover was removed)
      this.events.drift('del', found.filter(repairable));
      return found;
    });
  }

  /**
   * Closes the host handle and ends the event streams.
   * @example
   * svcs.close();
   */
  close(): void {
    this.events.close();
    this.host.close();
  }

  /** Under the lock: reads the records of `names`, asks `plan` for the changes, commits them. */
  private async commit(names: string[], plan: (recorded: Map<string, ServiceRecord>) => Change[], cutFlows = true): Promise<void> {
    await this.store.locked(async () => {
      const recorded = new Map<string, ServiceRecord>();
      for (const n of names) {
        const r = this.store.readShared(n);
        if (r) recorded.set(n, r);
      }
      const changes = plan(recorded).filter((c) => !same(c.before, c.after));
      // A new address, port or NodePort may be another service's; only then are the other records read (endpoint changes never do).
      refuseSharedClaims(
        changes.flatMap((c) => (c.after && claimsMore(c.before, c.after) ? [c.after] : [])),
        () => this.store.readAll().values(),
      );
      await refuseHostVips(this.host, changes);
      if (changes.length) await this.commitLocked(recorded, changes, cutFlows);
    });
  }

  /** One transaction for `changes`, journaled; then the records, then the flows of endpoints that left. */
  private async commitLocked(recorded: Map<string, ServiceRecord>, changes: Change[], cutFlows: boolean): Promise<void> {
    const names = mapPacked(changes, (c) => (c.after ?? c.before)?.name ?? '');
    // The journal lives in the services directory: only services read it ("publish" is the journal's closest operation kind).
    await withIntent(this.store.dir, { op: 'publish', network: '', publication: names.join(',') }, async () => {
      const tx = this.host.nft.transaction();
      // The last services go: the whole table with them, when it holds only what nlkit writes (ownership.ts); nothing is left behind.
      const emptied = changes.every((c) => !c.after) && this.store.isEmpty(new Set(names));
      const table = this.baseReady && !emptied ? 'current' : await tableLayout(this.host);
      // Constructed, not literals: an apply() of 1,000s of services would get the literal pretenured (layout-objects.ts).
      const layouts = mapPacked(changes, (c) => new LayoutPair(objectsOf(c.before), objectsOf(c.after)));
      const removeTable = emptied && table !== 'missing' && (await foreignObjectsIn(this.host)).length === 0;
      if (removeTable) queueTableRemoval(tx);
      else if (emptied && table === 'missing') {
        // No table and no service left: nothing to write.
      } else if (table !== 'current') {
        // First use on this host, the table was removed, or it has an older nlkit's layout: everything recorded,
        // then the changes, in one transaction (established flows keep their NAT).
        if (table === 'older') queueTableRemoval(tx);
        const changed = new Set(names);
        const others = [...this.store.readAll().values()].filter((r) => !changed.has(r.name));
        queueTable(
          tx,
          others,
          layouts.map((l) => ({ before: objectsOf(undefined), after: l.after })),
        );
      } else queueChanges(tx, layouts, true); // the maps declared: no round trip to read their types
      stepDone('service');
      try {
        if (tx.size) await tx.commit({ echo: 'none' });
      } catch (e) {
        if (table !== 'current' || removeTable || !redefinedMap(e)) throw e;
        // A shared map someone redefined (the kernel refused the whole batch): as before declarations, its types read from the kernel.
        const again = this.host.nft.transaction();
        queueChanges(again, layouts);
        await again.commit({ echo: 'none' });
      }
      this.baseReady = !emptied; // a removed table is written whole again by the next change
      stepDone('service');
      for (const c of changes) {
        if (c.after) this.store.write(c.after);
        else if (c.before) this.store.remove(c.before.name);
        stepDone('service');
      }
    });
    // Committed and recorded, still under the lock: the events go out in commit order.
    this.events.committed(changes);
    for (const c of changes) {
      if (c.after) recorded.set(c.after.name, c.after);
      if (!cutFlows || !c.before) continue;
      const stays = new Set((c.after?.endpoints ?? []).map((e) => `${e.ip}:${e.port ?? ''}`));
      const gone = c.before.endpoints.filter((e) => !stays.has(`${e.ip}:${e.port ?? ''}`));
      await cutServiceFlows(this.host, c.before, gone);
    }
  }
}

/** An `address-special` drift for each recorded virtual or external IP, or endpoint address, no service can have (special-ips.ts). */
function specialAddresses(records: Iterable<ServiceRecord>): ServiceDrift[] {
  const out: ServiceDrift[] = [];
  for (const r of records) {
    for (const [field, list] of [
      ['vips', r.vips],
      ['externalIps', r.externalIps],
    ] as const) {
      for (const ip of list) {
        const why = specialIpReason(ip);
        if (why === undefined) continue;
        out.push({
          service: r.name,
          kind: 'address-special',
          detail: `${field} ${ip} ${why} (recorded by an older nlkit; every set() keeping it fails): set('${r.name}', { ${field}: [...] }) with unicast addresses, or delete the service`,
        });
      }
    }
    for (const e of r.endpoints) {
      const why = specialIpReason(e.ip);
      if (why === undefined) continue;
      out.push({
        service: r.name,
        kind: 'address-special',
        detail: `endpoints ${e.ip} ${why} (recorded by an older nlkit; every set() keeping it fails): set('${r.name}', { endpoints: [...] }) without it, or delete the service`,
      });
    }
  }
  return out;
}

/**
 * Opens the services of a host namespace.
 * @example
 * const svcs = await services({ host: 'host1' });
 * await svcs.add({ name: 'web', vips: ['10.96.0.10'], ports: [{ port: 80, targetPort: 8080 }], endpoints: [{ ip: '10.88.0.2' }, { ip: '10.88.0.3' }] });
 */
export async function services(opts: ServiceManagerOptions = {}): Promise<ServiceManager> {
  rejectUnknownKeys(opts, MANAGER_KEYS, 'services options');
  const store = new ServiceStore(opts.stateDir ?? defaultStateDir(opts.host));
  const host = await open({ netns: opts.host });
  return new ServiceManager(host, store);
}
