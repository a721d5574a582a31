/**
 * What a rule builder produces, and the context its steps write into while
 * it runs: the rule's expressions, the anonymous sets it brings along, and
 * the protocol dependencies already emitted. The transaction consumes these
 * types; keeping them here (not in transaction.ts) means the builder never
 * imports the transaction.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { toWireElements, type SetElement } from '../elements';
import type { ImmediateExpression } from '../expressions/immediate';
import type { Expression } from '../expressions/registry';
import type { NftFamily } from '../message';
import { shapeOf, type NftSet } from '../set';
import type { Dependency } from './fields';

/** Dependency keys of the protocols that carry ports: tcp, udp, udplite, sctp, dccp. */
const TRANSPORT_PROTOCOL_KEYS = new Set([6, 17, 136, 132, 33].map((p) => `l4proto:${p}`));

/** Hands out the batch-unique ids that tie objects of one transaction together. */
export interface IdAllocator {
  /** A fresh NFTA_SET_ID. */
  setId(): number;
}

/** An anonymous set a rule brings along (`tcp dport { 22, 80 }`). */
export interface AnonymousSet {
  set: NftSet;
  id: number;
  elements: SetElement[];
}

/**
 * An interface a rule names (`fwd to "veth1"`): the immediate that loads its
 * index is written once the name was resolved in the handle's namespace, at
 * commit (the builder is synchronous and has no handle).
 */
export interface DeviceSlot {
  /** The placeholder immediate in the rule's expressions (its data is replaced, never written as it is). */
  expression: ImmediateExpression;
  /** The interface name. */
  name: string;
  /** The option that named it, for errors ("fwd device"). */
  field: string;
}

/** What a rule builder produces for one family. */
export interface BuiltRule {
  expressions: Expression[];
  anonymousSets: AnonymousSet[];
  comment?: string;
  /** Interfaces named by name, resolved at commit. */
  devices?: DeviceSlot[];
}

/** The parts of an anonymous set a builder step chooses (the rest follows from the rule). */
export type AnonymousSetSpec = Omit<NftSet, 'family' | 'table' | 'name' | 'flags' | 'size'> & { interval: boolean };

/** Accumulates expressions for one family while a builder runs. */
export class BuildContext {
  readonly exprs: Expression[] = [];
  readonly sets: AnonymousSet[] = [];
  readonly devices: DeviceSlot[] = [];
  private readonly deps = new Set<string>();

  constructor(
    readonly family: NftFamily,
    private readonly ids: IdAllocator,
  ) {}

  /** Emits the protocol matches a field needs, each once per rule. */
  need(deps: Dependency[]): void {
    for (const d of deps) {
      if (this.deps.has(d.key)) continue;
      this.deps.add(d.key);
      this.exprs.push(...d.expressions);
    }
  }

  /**
   * The first port mapping written before any transport protocol match
   * (nft refuses `dnat to addr:port` without one: the kernel would rewrite
   * UDP or ICMP with a TCP port too). Checked when the rule is built.
   */
  portWithoutTransport?: string;

  /** Notes a port mapping (`field`) unless a TCP, UDP, UDP-Lite, SCTP or DCCP match came before it. */
  requireTransport(field: string): void {
    if (this.portWithoutTransport !== undefined) return;
    if (![...this.deps].some((k) => TRANSPORT_PROTOCOL_KEYS.has(k))) this.portWithoutTransport = field;
  }

  /** Like {@link need}, but puts the matches before everything so far (where nft puts a statement's own dependency). */
  needFirst(deps: Dependency[]): void {
    for (const d of deps) {
      if (this.deps.has(d.key)) continue;
      this.deps.add(d.key);
      this.exprs.unshift(...d.expressions);
    }
  }

  /** Refuses what is checked once all steps ran (also for `toExpressions`: a fragment is refused as a rule would be). */
  checkComplete(): void {
    if (this.portWithoutTransport !== undefined) {
      throw new ValidationError(this.portWithoutTransport, this.family, 'a port mapping needs a tcp, udp, sctp or dccp match before it (as nft requires)');
    }
  }

  /** Records that a protocol match the user wrote satisfies a dependency. */
  satisfied(key: string): void {
    this.deps.add(key);
  }

  push(...e: Expression[]): void {
    this.exprs.push(...e);
  }

  /** Loads an interface index into `dreg`: a number now, a name once it is resolved at commit. */
  pushDevice(dreg: number, device: Buffer | string, field: string): void {
    if (typeof device !== 'string') {
      this.exprs.push({ type: 'immediate', dreg, data: device });
      return;
    }
    const expression: ImmediateExpression = { type: 'immediate', dreg, data: Buffer.alloc(4) };
    this.devices.push({ expression, name: device, field });
    this.exprs.push(expression);
  }

  /** Creates an anonymous set/map bound to this rule; returns its lookup name and id. */
  anonymous(set: AnonymousSetSpec, elements: SetElement[]): { set: string; setId: number } {
    const isMap = set.dataType !== undefined;
    const def: NftSet = {
      family: this.family,
      table: '',
      name: isMap ? '__map%d' : '__set%d',
      keyType: set.keyType,
      keyLength: set.keyLength,
      dataType: set.dataType,
      dataLength: set.dataLength,
      flags: ['anonymous', 'constant', ...(set.interval ? ['interval' as const] : [])],
      userdata: set.userdata,
    };
    if (def.keyLength === undefined) delete def.keyLength;
    if (def.dataType === undefined) delete def.dataType;
    if (def.dataLength === undefined) delete def.dataLength;
    if (def.userdata === undefined) delete def.userdata;
    if (!elements.length) throw new ValidationError('set', elements, 'an inline set needs at least one element');
    def.size = toWireElements(shapeOf(def), elements).length;
    const id = this.ids.setId();
    this.sets.push({ set: def, id, elements });
    return { set: def.name, setId: id };
  }
}

/** One deferred piece of a rule: runs once the table's family is known. */
export type Step = (ctx: BuildContext) => void;
