/**
 * Sandboxes on a network: attaching one (a veth pair whose peer is created
 * directly inside the sandbox, an address from IPAM, loopback up, default
 * routes — all or nothing) and detaching them, one or many at once in a
 * single bulk kernel request.
 * @module
 */
import * as path from 'node:path';
import { AttachmentConflictError, NlkitError, NotFoundError, ValidationError } from '../netlink/errors';
import { checkNetnsRef, createNetns, deleteNetns, netnsExists, NETNS_RUN_DIR, openNetnsSync, type NetnsRef, NetworkNamespace } from '../netns/namespace';
import { validateInterfaceName } from '../validate/names';
import { poolOf } from './address-pool';
import { ignoreMissing, ipamOf, notFound, type NetworkContext } from './context';
import { NetworkOperationError } from './errors';
import { settleInterruptedOf } from './attachment-recovery';
import { createVeth } from './attach-veth';
import { stepDone } from './fault';
import { isolatePorts } from './firewall/icc';
import { beginIntent, endFailed } from './intents';
import { addDefaultRoutes, checkDefaultRoute, chooseIfname, handOverDefaultRoute, type DefaultRouteChoice } from './multi-network';
import { hostVethName, randomMac, validateNetworkName, vethMark } from './names';
import { verifiedHostVeths } from './host-veth';
import type { Link } from '../rtnetlink/link-types';
import { removeAttachments } from './removal';
import { openSandboxOps, type SandboxOps } from './sandbox-ops';
import { identityOf, refuseHostNamespace, sameNamespace } from './sandbox-identity';
import { withSandboxLocks } from './sandbox-lock';
import { Rollback, settleAll } from './settle';
import type { AttachmentRecord, HostState, NamespaceIdentity, NetworkRecord } from './state';
import { isObject } from '../validate/options';
import { defaultDnsNames, validateDnsNames } from '../validate/dns-names';

/** Where a sandbox is, and how to name it. */
export interface AttachOptions {
  /** The sandbox's network namespace (name, path, pid, fd or open namespace). */
  sandbox: NetnsRef;
  /** Stable id of the sandbox on this network; default derived from the reference. */
  id?: string;
  /** Create the named namespace if it does not exist (and delete it on detach). */
  create?: boolean;
  /** Interface name inside the sandbox (default "eth0", then "eth1", ... for the sandbox's further networks). */
  ifname?: string;
  /** Requested IPv4 address (default: next free). */
  ip?: string;
  /** Requested IPv6 address (dual-stack networks). */
  ip6?: string;
  mac?: string;
  /**
   * Whether this network carries the sandbox's default route(s): true takes
   * it over from another network, false adds none; default: only the
   * sandbox's first network (one without a default route yet).
   */
  defaultRoute?: boolean;
  /** Allow the sandbox to be the host namespace, the caller's own or the initial one (refused with a ValidationError otherwise). */
  allowHostNamespace?: boolean;
  /** DNS names (container name and aliases, host names like "web" or "db.backend") the sandbox answers to on this network; default its id, if that is a valid host name. Attaching again keeps the first attach's names. */
  names?: string[];
}

const ATTACH_KEYS = ['sandbox', 'id', 'create', 'ifname', 'ip', 'ip6', 'mac', 'defaultRoute', 'allowHostNamespace', 'names'];

/** The result of an attach. */
export interface Attachment {
  network: string;
  id: string;
  ifname: string;
  hostIfname: string;
  mac: string;
  /** "10.88.0.2/24" */
  ipv4?: string;
  ipv6?: string;
  gateway: string;
  gateway6?: string;
  sandboxPath: string;
  /** This network carries the sandbox's default route(s). */
  defaultRoute: boolean;
  /** The DNS names the sandbox answers to on this network (see `dnsResponder`). */
  names: string[];
}

/** A sandbox to detach: its namespace as given to attach, or its attachment id (a listed {@link Attachment} is one). */
export type SandboxRef = NetnsRef | { id: string };

/** How a sandbox is identified on a network and where its namespace file is. */
export function sandboxIdentity(ref: NetnsRef): { id: string; path: string; name?: string } {
  // Anything else ({ sandbox: 'c1' }, {}) fell through to the fd case: "fd-undefined", /proc/PID/fd/undefined.
  checkNetnsRef(ref, 'sandbox');
  if (typeof ref === 'string') return { id: ref, path: path.join(NETNS_RUN_DIR, ref), name: ref };
  if (ref instanceof NetworkNamespace) {
    const p = ref.path ?? `/proc/${process.pid}/fd/${ref.fd}`;
    return { id: ref.name ?? p, path: p, name: ref.name };
  }
  if ('name' in ref) return sandboxIdentity(ref.name);
  if ('pid' in ref) return { id: `pid-${ref.pid}`, path: `/proc/${ref.pid}/ns/net` };
  if ('path' in ref) return { id: ref.path, path: ref.path };
  return { id: `fd-${ref.fd}`, path: `/proc/${process.pid}/fd/${ref.fd}` };
}

/** The attachment id a detach means. */
function sandboxId(ref: SandboxRef): string {
  if (isObject(ref) && 'id' in ref && !(ref instanceof NetworkNamespace)) {
    if (typeof ref.id !== 'string' || ref.id === '') throw new ValidationError('sandbox id', ref.id, 'must be a non-empty string');
    return ref.id;
  }
  return sandboxIdentity(ref).id;
}

/** An attachment record as the caller sees it (addresses with their prefix, the gateways). */
export function toAttachment(rec: NetworkRecord, a: AttachmentRecord): Attachment {
  return {
    network: rec.name,
    id: a.id,
    ifname: a.ifname,
    hostIfname: a.hostIfname,
    mac: a.mac,
    ipv4: a.ipv4 ? poolOf(rec.subnet).withPrefix(a.ipv4) : undefined,
    ipv6: a.ipv6 && rec.subnet6 ? poolOf(rec.subnet6).withPrefix(a.ipv6) : undefined,
    gateway: rec.gateway,
    gateway6: rec.gateway6,
    sandboxPath: a.sandboxPath,
    defaultRoute: a.defaultRoute !== false,
    names: a.names ?? defaultDnsNames(a.id),
  };
}

/** Attaches a sandbox (see `NetworkManager.attach`). */
export async function attach(ctx: NetworkContext, network: string, opts: AttachOptions): Promise<Attachment> {
  if (!isObject(opts)) throw new ValidationError('attach options', opts, 'must be an object like { sandbox: "c1" }');
  for (const key of Object.keys(opts))
    if (!ATTACH_KEYS.includes(key)) throw new ValidationError('attach options', key, `unknown option (known: ${ATTACH_KEYS.join(', ')})`);
  const ident = sandboxIdentity(opts.sandbox);
  const id = opts.id ?? ident.id;
  if (opts.ifname !== undefined) validateInterfaceName(opts.ifname, 'ifname');
  const names = opts.names === undefined ? undefined : validateDnsNames(opts.names, 'names');
  const defaultRoute = checkDefaultRoute(opts.defaultRoute);
  const op = `attach ${id} to ${network}`;
  validateNetworkName(network);
  // One attach of this id at a time, across processes: a second one finds the first's attachment.
  return withSandboxLocks(ctx.store.dir, network, [id], async () => {
    await settleInterruptedOf(ctx, network, [id]); // a dead process's attempt on this id goes first
    const { rec, all, st } = await networkAndAttachments(ctx, network, op);
    const known = all[id];
    // eth0, eth1, ... for a sandbox's networks in attach order, unless asked.
    const ifname = chooseIfname(st, ident.path, opts.ifname);
    const existing = openExisting(opts.sandbox, !!(opts.create && ident.name));
    try {
      const nsId = existing && identityOf(existing);
      if (nsId && opts.allowHostNamespace !== true) refuseHostNamespace(nsId, ctx.hostRef, ident.path, hostNamespaceOf(ctx));
      if (known) {
        if (!sameNamespace(known.sandboxNs, nsId) || (!known.sandboxNs && known.sandboxPath !== ident.path))
          throw new AttachmentConflictError(network, id, known.sandboxPath);
        // Rebuilt when its host veth is gone; a link that took the name is not taken for it (reattach refuses it).
        if (!(await verifiedHostVeths(ctx, rec, [known])).indexes.has(id)) await reattachLocked(ctx, rec, known);
        return toAttachment(rec, known);
      }
      return await attachNew(ctx, rec, opts, { id, ifname, op, ident, existing, nsId, defaultRoute, names });
    } finally {
      existing?.close();
    }
  });
}

/** The manager's host namespace as its store read it when it opened (undefined: a store without one; looked up then). */
function hostNamespaceOf(ctx: NetworkContext): NamespaceIdentity | undefined {
  const h = ctx.store.identity;
  return h && { dev: Number(h.netnsDev), ino: Number(h.netnsIno) };
}

/** A network's record and attachments, read once (under the attachments' locks); NotFoundError if there is no such network. */
async function networkAndAttachments(
  ctx: NetworkContext,
  network: string,
  operation: string,
): Promise<{ rec: NetworkRecord; all: Partial<Record<string, AttachmentRecord>>; st: HostState }> {
  const st = await ctx.store.snapshot();
  const rec = st.networks[network] as NetworkRecord | undefined;
  if (!rec) throw notFound('network', network, operation);
  return { rec, all: st.attachments[network] ?? {}, st };
}

/** The sandbox's namespace opened, or undefined when it does not exist yet and attach is to create it. */
function openExisting(ref: NetnsRef, mayCreate: boolean): NetworkNamespace | undefined {
  try {
    return openNetnsSync(ref);
  } catch (e) {
    if (mayCreate && e instanceof NotFoundError) return undefined;
    throw e;
  }
}

interface NewAttachment {
  id: string;
  ifname: string;
  op: string;
  ident: ReturnType<typeof sandboxIdentity>;
  /** The sandbox, if it exists already (open until attachNew returns). */
  existing?: NetworkNamespace;
  /** Its identity, read when it was opened. */
  nsId?: NamespaceIdentity;
  /** The `defaultRoute` option, checked. */
  defaultRoute: DefaultRouteChoice;
  /** The `names` option, checked. */
  names?: string[];
}

/** Attaches a sandbox that is not attached (the attachment's lock is held). */
async function attachNew(ctx: NetworkContext, rec: NetworkRecord, opts: AttachOptions, p: NewAttachment): Promise<Attachment> {
  const { id, ifname, op, ident, existing, nsId, defaultRoute, names } = p;
  const network = rec.name;
  if (opts.ip6 !== undefined && !rec.subnet6) throw new ValidationError('ip6', opts.ip6, `network ${network} has no IPv6 subnet (create it with subnet6)`);
  const hostIfname = hostVethName(network, id);
  const mac = opts.mac ?? randomMac();
  const createName = !existing && opts.create ? ident.name : undefined;
  // Written before the kernel is touched: what this attach will create, for reconcile if the process dies.
  const intent = beginIntent(ctx.store.dir, {
    op: 'attach',
    network,
    ids: [id],
    hostIfnames: [hostIfname],
    macs: [mac],
    namespaces: createName ? [{ name: createName }] : [],
    group: rec.group,
  });
  stepDone('attach');
  const rollback = new Rollback();
  let step = 'prepare sandbox';
  let result: Attachment;
  try {
    let ownsSandbox = false;
    if (createName && !netnsExists(createName)) {
      await createNetns(createName);
      ownsSandbox = true;
      rollback.push(() => deleteNetns(createName, { missingOk: true }));
      stepDone('attach');
    }
    // The sandbox opened (and its identity read) by attach(), which holds it open until this returns.
    const ns = existing ?? openNetnsSync(opts.sandbox);
    try {
      const att: AttachmentRecord = {
        network,
        id,
        sandboxPath: ident.path,
        sandboxName: ident.name,
        ownsSandbox,
        sandboxNs: nsId ?? identityOf(ns),
        ifname,
        hostIfname,
        mac,
        ...(names && { names }),
      };
      // The address lease (a file under a lock) does not wait for the kernel: plumb() asks for it once the veth's
      // requests are queued, so its file work runs while the kernel creates the pair; it is needed only for the address step.
      // Async: what it throws (an unsafe ipam directory) is a rejection that plumb() waits for with the veth's.
      const lease = async () => {
        const ipam = ipamOf(ctx, rec);
        const l = await ipam.allocate(id, { ipv4: opts.ip, ipv6: opts.ip6 });
        rollback.push(() => ipam.release(id));
        att.ipv4 = l.ipv4;
        att.ipv6 = l.ipv6;
      };
      // A requested address is leased before the veth is made: one another sandbox holds (AddressInUseError) or
      // that is not the pool's refuses the attach before any link exists, not after making the pair and deleting it.
      const requested = opts.ip !== undefined || opts.ip6 !== undefined;
      if (requested) {
        step = 'allocate addresses';
        await lease();
      }
      await plumb(ctx, rec, att, ns, rollback, (s) => (step = s), requested ? undefined : lease, defaultRoute);
      stepDone('attach');

      step = 'record attachment';
      await ctx.store.edit((s, edits) => {
        if (!(network in s.networks)) throw notFound('network', network, `${op} (deleted meanwhile)`);
        edits.putAttachment(att);
        if (defaultRoute) handOverDefaultRoute(s, edits, att);
      });
      stepDone('attach');
      result = toAttachment(rec, att);
    } finally {
      if (ns !== existing) ns.close();
    }
  } catch (e) {
    const undone = await rollback.run(); // false: an undo failed, reconcile finishes it
    const err =
      e instanceof ValidationError ||
      (e instanceof NlkitError && ['AddressInUseError', 'ForeignBridgeError', 'IpamExhaustedError', 'NotFoundError', 'UnsafeStateDirError'].includes(e.name))
        ? e
        : new NetworkOperationError(op, step, e);
    endFailed(intent, err, undone);
    throw err;
  }
  // After the try: a journal that cannot record the end of a finished attach must not roll back half of it (the
  // record stays); its error is thrown and the intent stays open, for reconcile to undo the attach whole.
  intent.done();
  return result;
}

/**
 * Detaches sandboxes of one network in one bulk request (see
 * `NetworkManager.detach`). Every sandbox must be attached (NotFoundError
 * before anything is changed) unless `missingOk`. Returns how many were
 * detached.
 */
export async function detach(ctx: NetworkContext, network: string, sandboxes: SandboxRef[], missingOk: boolean): Promise<number> {
  const ids = [...new Set(sandboxes.map(sandboxId))];
  validateNetworkName(network);
  return withSandboxLocks(ctx.store.dir, network, ids, async () => {
    await settleInterruptedOf(ctx, network, ids); // with a dead publish: its element would outlive the detach of its backend
    const { rec, all } = await networkAndAttachments(ctx, network, `detach from network ${network}`);
    const missing = ids.filter((i) => !all[i]);
    if (missing.length && !missingOk)
      throw notFound('attachment', `${missing.join(', ')} on network ${network}`, `detach ${missing.join(', ')} from ${network}`);
    const atts = ids.map((i) => all[i]).filter((a) => a !== undefined);
    if (atts.length === 0) return 0;
    await removeAttachments(ctx, rec, atts, Object.keys(all).length === atts.length);
    return atts.length;
  });
}

/** Detaches every sandbox of a network in one bulk request; returns how many. */
export async function detachAll(ctx: NetworkContext, rec: NetworkRecord): Promise<number> {
  const ids = Object.keys((await ctx.store.snapshot()).attachments[rec.name] ?? {});
  if (ids.length === 0) return 0;
  return withSandboxLocks(ctx.store.dir, rec.name, ids, async () => {
    const all = (await ctx.store.snapshot()).attachments[rec.name] ?? {};
    const atts = ids.map((i) => all[i] as AttachmentRecord | undefined).filter((a) => a !== undefined);
    if (atts.length === 0) return 0;
    await removeAttachments(ctx, rec, atts, Object.keys(all).length === atts.length);
    return atts.length;
  });
}

/**
 * Re-creates an attachment with its recorded names and addresses
 * (reconcile), if its sandbox is still the namespace it attached; a
 * different namespace at its path is never touched (the attachment is
 * forgotten instead).
 */
export async function reattach(ctx: NetworkContext, rec: NetworkRecord, att: AttachmentRecord): Promise<void> {
  await withSandboxLocks(ctx.store.dir, rec.name, [att.id], async () => {
    // Still the attachment check() saw? A detach or another reconcile may have been first.
    const now = ((await ctx.store.snapshot()).attachments[rec.name] as Partial<Record<string, AttachmentRecord>> | undefined)?.[att.id];
    if (now?.mac === att.mac) await reattachLocked(ctx, rec, now);
  });
}

/** {@link reattach} with the attachment's lock held. */
async function reattachLocked(ctx: NetworkContext, rec: NetworkRecord, att: AttachmentRecord): Promise<void> {
  let ns: NetworkNamespace | undefined;
  try {
    ns = openNetnsSync({ path: att.sandboxPath });
  } catch {
    ns = undefined;
  }
  if (!ns || !sameNamespace(att.sandboxNs, identityOf(ns))) {
    ns?.close();
    await removeAttachments(ctx, rec, [att], false);
    return;
  }
  try {
    // Only what is still the attachment's: a link its recorded names now reach is neither replaced nor deleted,
    // and both ends are checked before either is touched.
    const { indexes, foreign } = await verifiedHostVeths(ctx, rec, [att]);
    if (foreign.length) throw new ValidationError('hostIfname', att.hostIfname, `${foreign[0].reason}: ${NOT_TAKEN_OVER}`);
    const sb = openSandboxOps(ns);
    try {
      const peer = await sb.links.find(att.ifname);
      const why = peer && sandboxEndConflict(att, peer);
      if (why) throw new ValidationError('ifname', att.ifname, `in sandbox ${att.sandboxPath}: ${why}: ${NOT_TAKEN_OVER}`);
      const hostIndex = indexes.get(att.id);
      if (hostIndex !== undefined)
        await ctx.host.links.delete(hostIndex).catch(ignoreMissing); // the sandbox end goes with it
      else if (peer) await sb.links.delete(peer.index).catch(ignoreMissing); // its host end was renamed: the pair goes from here
    } finally {
      sb.close();
    }
    // A reattach that fails halfway undoes what it made (the new veth), as attach does; the record stays for the next reconcile.
    const rollback = new Rollback();
    await plumb(ctx, rec, att, ns, rollback, () => undefined, undefined, att.defaultRoute).catch(async (e: unknown) => {
      await rollback.run();
      throw e;
    });
  } finally {
    ns.close();
  }
}

const NOT_TAKEN_OVER = 'nlkit does not take over interfaces it did not make; remove or rename it, or detach the sandbox';

/** Why the link `att.ifname` reaches in the sandbox is not the attachment's end (its own name and recorded MAC), or undefined. */
function sandboxEndConflict(att: AttachmentRecord, link: Link): string | undefined {
  if (link.name !== att.ifname) return `${link.name} (index ${link.index}) carries the name as an altname`;
  if (link.mac !== att.mac) return `${link.name} (index ${link.index}) has MAC ${link.mac ?? 'none'}, not the attachment's ${att.mac}`;
  return undefined;
}

/** Forgets attachments whose sandbox no longer exists (reconcile): their host veths, leases, publications' backends, records. */
export async function forget(ctx: NetworkContext, rec: NetworkRecord, atts: AttachmentRecord[]): Promise<void> {
  await withSandboxLocks(
    ctx.store.dir,
    rec.name,
    atts.map((a) => a.id),
    async () => {
      // Only what is still recorded as check() saw it (a detach or a new attach may have come first).
      const now: Partial<Record<string, AttachmentRecord>> = (await ctx.store.snapshot()).attachments[rec.name] ?? {};
      const still = atts.map((a) => now[a.id]).filter((a, i) => a?.mac === atts[i].mac) as AttachmentRecord[];
      if (still.length) await removeAttachments(ctx, rec, still, false);
    },
  );
}

/**
 * Builds the kernel side of an attachment; each step registers its undo.
 * Independent steps run at once (the kernel works off the event loop while
 * JavaScript goes on): the veth pair (one host round trip, its requests
 * queued first) and the address lease, whose file work runs meanwhile; then
 * the port enslaved with its hairpin flag on the host and, in
 * the sandbox, every request queued at once by interface index (one pool job
 * makes a socket there and sends them in one sendmsg, processed in order:
 * up, address, then the route that needs it).
 */
async function plumb(
  ctx: NetworkContext,
  rec: NetworkRecord,
  att: AttachmentRecord,
  ns: NetworkNamespace,
  rollback: Rollback,
  onStep: (s: string) => void,
  lease?: () => Promise<void>,
  defaultRoute?: DefaultRouteChoice,
): Promise<void> {
  const host = ctx.host;
  let sb: SandboxOps | undefined;
  try {
    // Started first: its requests go out at the end of this tick (one hand-off, lib/netlink/send-tick.ts), ahead of
    // the lease's file work and of the sandbox's connection, both made while the kernel creates the pair. The lease
    // starts in a microtask queued after that hand-off's: its lock file is opened once the veth's requests are queued.
    const veth = createVeth(ctx, rec, att, ns, rollback);
    const leased = lease && Promise.resolve().then(lease);
    await settleAll(
      [
        ['allocate addresses', () => leased],
        ['create veth pair', () => veth],
        // No socket yet: each round makes one in the sandbox (sandbox-ops.ts).
        ['open sandbox', () => void (sb = openSandboxOps(ns))],
      ],
      onStep,
    );
    const { hostIndex, peerIndex, bridgeIndex } = await veth;
    const box = sb as SandboxOps; // every step succeeded, the sandbox's among them
    const dev: string | number = peerIndex > 0 ? peerIndex : att.ifname;
    await settleAll(
      [
        // A container reaching its own published port: the DNATed frame goes back
        // out the bridge port it came in on, which the bridge allows only in hairpin mode.
        // icc: false may isolate the port (see firewall/icc.ts): the bridge forwards nothing between two isolated ports.
        [
          'set hairpin mode',
          async () => {
            // Asked at once, in this order (one round trip): the port enslaved to the bridge and up with its
            // ownership mark (one request: the kernel ignores an alias in the request that creates the veth, not in
            // this one), then its port flags (a bridge port's, so after the master in the same sendmsg).
            const port = { hairpin: true, ...((await isolatePorts(ctx.hostRef, rec)) && { isolated: true }) };
            await settleAll([
              host.links.set(hostIndex, { master: bridgeIndex, up: true, alias: vethMark(ctx.store.tag, rec.name, att.id) }),
              host.links.set(hostIndex, { port }),
            ]);
          },
        ],
        [
          'configure sandbox interface',
          () => {
            const reqs = [box.links.set('lo', { up: true }), box.links.set(dev, { up: true })];
            if (att.ipv4) reqs.push(box.addresses.add(dev, poolOf(rec.subnet, rec.gateway).withPrefix(att.ipv4)));
            if (att.ipv6 && rec.subnet6) reqs.push(box.addresses.add(dev, poolOf(rec.subnet6).withPrefix(att.ipv6), { nodad: true }));
            reqs.push(addDefaultRoutes(box, rec, att, dev, defaultRoute));
            return settleAll(reqs);
          },
        ],
      ],
      onStep,
    );
  } finally {
    sb?.close();
  }
}
