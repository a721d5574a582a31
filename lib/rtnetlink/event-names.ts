/**
 * Interface names on event objects, as list results carry them (`linkName`,
 * `bridgeName`, `masterName`, ...), without a request per event: a stream
 * keeps its own index → name map, filled by one link dump when it starts and
 * kept current from the link events it receives (the stream joins the link
 * group for that). See docs/api-conventions.md, "Interface names".
 * @module
 */
import type { Operation } from '../netlink/operation';
import type { RtnetlinkEvent } from './event-types';
import { linkOps, type Link } from './link';

/** Index → name of one stream's namespace, kept current from its link events. */
export class EventLinkNames {
  private readonly names = new Map<number, string>();
  private loaded: Promise<void> | undefined;

  /** @param run runs the starting link dump (on the handle's request socket) */
  constructor(private readonly run: <T>(op: Operation<T>) => Promise<T>) {}

  /** Starts the one link dump (once the stream has joined its groups, so no rename falls in between). */
  start(): Promise<void> {
    this.loaded ??= this.run(linkOps.list()).then((links) => {
      // Events seen meanwhile are newer than the dump: keep what they said.
      for (const l of links) if (!this.names.has(l.index)) this.names.set(l.index, l.name);
    });
    return this.loaded;
  }

  /** Names the interfaces an event refers to, and learns from link events. */
  async name(ev: RtnetlinkEvent): Promise<RtnetlinkEvent> {
    await this.start();
    const get = (i: number | undefined) => (i !== undefined && i > 0 ? this.names.get(i) : undefined);
    switch (ev.type) {
      case 'link':
        if (ev.action === 'new') this.names.set(ev.link.index, ev.link.name);
        this.nameLink(ev.link, get);
        // After naming: its last addresses and routes have gone before it.
        if (ev.action === 'del') this.names.delete(ev.link.index);
        break;
      case 'bridgePort':
        this.nameLink(ev.link, get);
        break;
      case 'address':
        assign(ev.address, 'linkName', get(ev.address.link));
        break;
      case 'route':
        assign(ev.route, 'linkName', get(ev.route.link));
        for (const nh of ev.route.multipath ?? []) assign(nh, 'linkName', get(nh.link));
        break;
      case 'neighbour':
        assign(ev.neighbour, 'linkName', get(ev.neighbour.link));
        break;
      case 'fdb':
        assign(ev.entry, 'linkName', get(ev.entry.link));
        assign(ev.entry, 'bridgeName', get(ev.entry.bridge));
        assign(ev.entry, 'viaName', get(ev.entry.via));
        break;
      default:
        break; // ip rules name their interfaces themselves; synced/overrun carry none
    }
    return ev;
  }

  private nameLink(l: Link, get: (i: number | undefined) => string | undefined): void {
    assign(l, 'masterName', get(l.master));
    // A parent in another namespace has no name here.
    if (l.linkNetnsId === undefined) assign(l, 'parentName', get(l.parentIndex));
  }
}

function assign<T extends object, K extends keyof T>(o: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) o[key] = value;
}
