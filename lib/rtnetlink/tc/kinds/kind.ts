/**
 * What a qdisc or class kind (tbf, htb, ingress...) contributes: how its
 * options become TCA_OPTIONS and how TCA_OPTIONS reads back. One file per
 * kind, registered in ./index.ts.
 * @module
 */
import type { Attributes } from '../../../netlink/parser';
import type { NetlinkWriter } from '../../../netlink/writer';

export interface TcKind<Options, Info> {
  readonly kind: string;
  /** The keys of the kind's `options` object: any other key is refused. */
  readonly optionKeys: readonly string[];
  /** Keys only the kernel reports (HTB's `level`): accepted, so a listed object goes back in, and ignored. */
  readonly readOnlyKeys?: readonly string[];
  /** Whether `options` must be given (TBF: rate and burst; HTB classes: rate). */
  readonly optionsRequired: boolean;
  /**
   * Checks the options and returns a writer of the attributes inside
   * TCA_OPTIONS: every ValidationError is thrown here, before anything is sent.
   */
  prepare(opts: Options): (w: NetlinkWriter) => void;
  /** Reads TCA_OPTIONS back. */
  decode(data: Attributes): Info;
}

/** A qdisc kind that always sits at one place with one handle (ingress, clsact). */
export interface FixedPlace {
  parent: number;
  handle: number;
}
