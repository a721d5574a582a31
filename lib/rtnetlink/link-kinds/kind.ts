/**
 * What a link kind (veth, bridge, vxlan...) contributes: how its creation
 * options become IFLA_INFO_DATA and how IFLA_INFO_DATA reads back. One file
 * per kind, registered in ./index.ts.
 * @module
 */
import type { NetlinkWriter } from '../../netlink/writer';
import type { Attributes } from '../../netlink/parser';
import type { Operation } from '../../netlink/operation';
import type { NetnsRef } from '../../netns/namespace';

/** Services an encoder may need while building a request. */
export interface EncodeContext {
  /** Opens a namespace for the duration of the request and returns its fd. */
  netnsFd(ref: NetnsRef): number;
  /** Resolved interface indexes for names the options mention (see LinkKind.references). */
  indexOf(name: string | number): number;
}

export interface LinkKind<Options, Info> {
  readonly kind: string;
  /** The keys of the kind's own options (besides the common ones): any other key is refused. */
  readonly optionKeys: readonly string[];
  /** Link names/indexes the options refer to, resolved before encoding. */
  references?(opts: Options): Array<string | number>;
  /** The lower device, sent as the top-level IFLA_LINK (macvlan's parent). Must be among `references`. */
  parent?(opts: Options): string | number | undefined;
  /** Writes the attributes inside IFLA_INFO_DATA. */
  encode(w: NetlinkWriter, opts: Options, ctx: EncodeContext): void;
  /** Reads IFLA_INFO_DATA back. */
  decode(data: Attributes): Info;
  /**
   * The options the kernel lets an existing link of this kind change
   * (`links.set(ref, { <kind>: { ... } })`, as `ip link set ... type <kind>`).
   */
  readonly changeKeys?: readonly string[];
  /** Writes such changes inside IFLA_INFO_DATA. */
  encodeChange?(w: NetlinkWriter, changes: Partial<Options>): void;
  /**
   * For kinds rtnetlink cannot create (tun/tap): creates the bare device in
   * the handle's namespace; the common options are then applied like a set.
   */
  create?(name: string, opts: Options): Operation<void>;
}
