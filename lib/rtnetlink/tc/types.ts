/**
 * What qdiscs and classes are (read back, discriminated by `kind`) and the
 * options that create them. Handles are written as tc writes them.
 * @module
 */
import type { LinkRef } from '../link';
import type { HtbClassInfo, HtbClassOptions, HtbQdiscInfo, HtbQdiscOptions, NoOptions, TbfInfo, TbfOptions } from './kinds';

/** A handle in tc notation ("1:", "1:10", "root", "ffff:fff1"), or the 32-bit number. */
export type TcHandle = string | number;

/** Queue statistics (`tc -s`), from TCA_STATS2. */
export interface TcStats {
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  requeues: number;
  /** Packets queued now. */
  qlen: number;
  /** Bytes queued now. */
  backlog: number;
}

/** Fields every qdisc read back has. */
export interface QdiscBase {
  /** Index of the link the qdisc is on. */
  link: number;
  /** Name of the link, resolved by nlkit (docs/api-conventions.md, "Interface names"). */
  linkName?: string;
  /** Its handle as tc prints it: "1:", "8001:" (chosen by the kernel), "ffff:" (ingress, clsact), "none" (a device's default). */
  handle: string;
  /** Where it is attached: "root", "ffff:fff1" (ingress, clsact), or a class such as "1:10". */
  parent: string;
  /** Queue statistics. */
  stats?: TcStats;
}

/** A TBF qdisc. */
export interface TbfQdisc extends QdiscBase {
  kind: 'tbf';
  options: TbfInfo;
}

/** An HTB qdisc. */
export interface HtbQdisc extends QdiscBase {
  kind: 'htb';
  options: HtbQdiscInfo;
}

/** An ingress or clsact qdisc. */
export interface IngressQdisc extends QdiscBase {
  kind: 'ingress' | 'clsact';
  options: NoOptions;
}

/** A qdisc of a kind nlkit does not decode (pfifo_fast, fq_codel, noqueue...): its options are in `optionsRaw`. */
export interface OtherQdisc extends QdiscBase {
  kind: string;
  options: NoOptions;
  /** TCA_OPTIONS as received. */
  optionsRaw?: Buffer;
}

/** A qdisc as the kernel reports it (`tc qdisc show`); `options` is typed once `kind` is checked. */
export type Qdisc = TbfQdisc | HtbQdisc | IngressQdisc | OtherQdisc;

/** Where a qdisc goes: the link, and a parent and handle in tc notation. */
export interface QdiscPlace {
  /** The link (name or index). */
  link: LinkRef;
  /** "root" (the default), or a class such as "1:10"; ingress and clsact have their own place and need none. */
  parent?: TcHandle;
  /** The handle ("1:"); none: the kernel picks one (8001:...). */
  handle?: TcHandle;
}

/** A qdisc to add or replace, discriminated by `kind`. */
export type QdiscOptions =
  | (QdiscPlace & { kind: 'tbf'; options: TbfOptions })
  | (QdiscPlace & { kind: 'htb'; options?: HtbQdiscOptions })
  | (QdiscPlace & { kind: 'ingress' | 'clsact'; options?: NoOptions });

/** What names a qdisc (a listed {@link Qdisc} is one): its link and parent, or its link and handle. */
export interface QdiscKey {
  link: LinkRef;
  parent?: TcHandle;
  handle?: TcHandle;
}

/** Filters of `qdiscs.list`. */
export interface QdiscFilter {
  /** Only qdiscs on this link. */
  link?: LinkRef;
  /** Only qdiscs of this kind. */
  kind?: string;
}

/** Fields every class read back has. */
export interface TcClassBase {
  link: number;
  linkName?: string;
  /** The class id as tc prints it ("1:10"). */
  classid: string;
  /** Its parent: "root" for a top class of its qdisc, else a class such as "1:1". */
  parent: string;
  /** The handle of the qdisc inside the class, when one was added to it. */
  leaf?: string;
  stats?: TcStats;
}

/** An HTB class. */
export interface HtbClass extends TcClassBase {
  kind: 'htb';
  options: HtbClassInfo;
}

/** A class of a kind nlkit does not decode. */
export interface OtherClass extends TcClassBase {
  kind: string;
  options: NoOptions;
  optionsRaw?: Buffer;
}

/** A traffic control class as the kernel reports it (`tc class show`). */
export type TcClass = HtbClass | OtherClass;

/** A class to add or replace (`tc class add dev X parent 1: classid 1:10 htb rate ...`). */
export interface TcClassOptions {
  link: LinkRef;
  /** The class id ("1:10"): the major number is its qdisc's. */
  classid: TcHandle;
  /** The parent class ("1:1"); default: the qdisc itself ("1:"), making a top class. */
  parent?: TcHandle;
  kind: 'htb';
  options: HtbClassOptions;
}

/** What names a class (a listed {@link TcClass} is one). */
export interface TcClassKey {
  link: LinkRef;
  classid: TcHandle;
}

/** Filters of `classes.list`. */
export interface TcClassFilter {
  link?: LinkRef;
  kind?: string;
  /** Only the classes of this qdisc ("1:"). */
  qdisc?: TcHandle;
}
