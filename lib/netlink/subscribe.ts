/**
 * {@link subscribeNetlink}: the kernel's multicast notifications of any
 * netlink protocol, as raw messages — for groups nlkit has no typed stream
 * for (a generic netlink family's group, xfrm, audit, ...).
 * @module
 */
import { openNetnsSync, type NetnsRef } from '../netns/namespace';
import { rejectUnknownKeys } from '../validate/options';
import { checkBufferBytes } from './connection-options';
import { ValidationError } from './errors';
import { eventStream, type EventStream, type OverrunEvent } from './event-stream';
import type { NetlinkMessage } from './parser';
import { NetlinkSubscription } from './subscription';

/** Options of {@link subscribeNetlink}. */
export interface SubscribeNetlinkOptions {
  /** Multicast group numbers to join (RTNLGRP_*, a generic netlink family's group id, ...). */
  groups: number[];
  /** The namespace to listen in. Default: the caller's. */
  netns?: NetnsRef;
  /** SO_RCVBUF in bytes (default 4 MiB). Small values make kernel overruns likely. */
  receiveBufferBytes?: number;
  /** Most messages kept for a slow consumer before an overrun is declared (default 100,000). */
  maxQueued?: number;
}

/**
 * Notifications as they arrive, and `{ type: 'overrun' }` where some were
 * lost (the stream goes on: read the state afresh). Iterate with
 * `for await`; `break` or `close()` ends the stream and closes its socket.
 */
export type NetlinkMessageStream = EventStream<NetlinkMessage | OverrunEvent>;

const OPTION_KEYS = ['groups', 'netns', 'receiveBufferBytes', 'maxQueued'] as const;
/** The addon joins groups 1-1024 (generic netlink allocates ids in that range). */
const MAX_GROUP = 1024;

/** Checks subscription arguments; returns the group numbers. */
export function checkSubscribeArgs(protocol: unknown, opts: SubscribeNetlinkOptions): number[] {
  if (typeof protocol !== 'number' || !Number.isInteger(protocol) || protocol < 0 || protocol > 31) {
    throw new ValidationError('protocol', protocol, 'must be a netlink protocol number from 0 to 31');
  }
  rejectUnknownKeys(opts, OPTION_KEYS, 'subscribeNetlink options');
  const groups: unknown = (opts as Partial<SubscribeNetlinkOptions> | undefined)?.groups; // plain JavaScript may pass anything
  if (!Array.isArray(groups) || groups.length === 0) throw new ValidationError('groups', groups, 'must be a non-empty array of group numbers');
  for (const g of groups as unknown[]) {
    if (typeof g !== 'number' || !Number.isInteger(g) || g < 1 || g > MAX_GROUP)
      throw new ValidationError('group', g, `must be a group number from 1 to ${MAX_GROUP}`);
  }
  checkBufferBytes('receiveBufferBytes', opts.receiveBufferBytes);
  return [...new Set(groups as number[])];
}

/**
 * Joins multicast groups of a netlink protocol and streams the
 * notifications. The groups are joined when the promise resolves, before
 * iteration starts: subscribe first, then dump, and nothing is missed in
 * between. Where the kernel (or a slow consumer) lost notifications the
 * stream yields `{ type: 'overrun' }` (every nlkit stream does) and goes on:
 * read the state afresh with a dump. Messages have a numeric `type`, so
 * `m.type === 'overrun'` tells the two apart.
 * @example
 * import { subscribeNetlink, NETLINK_ROUTE } from 'nlkit/netlink';
 * const RTNLGRP_LINK = 1;
 * const events = await subscribeNetlink(NETLINK_ROUTE, { groups: [RTNLGRP_LINK], netns: 'c1' });
 * for await (const m of events) {
 *   if (m.type === 'overrun') continue; // resync with a dump
 *   console.log('link message type', m.type);
 *   break;
 * }
 */
export async function subscribeNetlink(protocol: number, opts: SubscribeNetlinkOptions): Promise<NetlinkMessageStream> {
  return rawStream(await openSubscription(protocol, opts));
}

/** @internal joins the groups of `opts` in its namespace (checked first); the caller owns the subscription. */
export async function openSubscription(protocol: number, opts: SubscribeNetlinkOptions): Promise<NetlinkSubscription> {
  const groups = checkSubscribeArgs(protocol, opts);
  const ns = opts.netns !== undefined ? openNetnsSync(opts.netns) : undefined;
  let sub: NetlinkSubscription | undefined;
  try {
    sub = new NetlinkSubscription({ protocol, netnsFd: ns ? ns.fd : -1, groups, receiveBufferBytes: opts.receiveBufferBytes, maxQueued: opts.maxQueued });
    // A subscription whose socket is made off the event loop needs the namespace until it exists.
    await (sub as { ready?: Promise<void> }).ready;
    return sub;
  } catch (e) {
    sub?.close();
    throw e;
  } finally {
    // The socket stays in the namespace it was made in; the reference is no longer needed.
    ns?.close();
  }
}

/** @internal wraps a subscription in the event-stream shape; `decode` maps messages (undefined skips one). */
export function rawStream<T = NetlinkMessage>(
  sub: NetlinkSubscription,
  decode: (m: NetlinkMessage) => T | undefined = (m) => m as T,
): EventStream<T | OverrunEvent> {
  // Without includeExisting the stream never yields `synced`.
  return eventStream<T>({
    subscription: sub,
    decode,
    existing: async function* () {
      // a raw subscription has nothing to list first
    },
  }) as EventStream<T | OverrunEvent>;
}
