/**
 * The type of every nf_tables expression: the `Expression` union, and
 * `DynsetExpression`, the one expression that holds expressions. The two are
 * mutually recursive, so they are declared together here; each expression's
 * own file declares its type and codec, and registry.ts maps names to
 * codecs. Types only: importing this file runs nothing.
 * @module
 */
import type { BitwiseExpression } from './bitwise';
import type { ByteorderExpression } from './byteorder';
import type { CmpExpression } from './cmp';
import type { HasUnknownAttributes } from './codec';
import type { ConnlimitExpression } from './connlimit';
import type { CounterExpression } from './counter';
import type { CtExpression } from './ct';
import type { DupExpression } from './dup';
import type { ExthdrExpression } from './exthdr';
import type { FibExpression } from './fib';
import type { FlowOffloadExpression } from './flow-offload';
import type { FwdExpression } from './fwd';
import type { HashExpression } from './hash';
import type { ImmediateExpression } from './immediate';
import type { LastExpression } from './last';
import type { LimitExpression } from './limit';
import type { LogExpression } from './log';
import type { LookupExpression } from './lookup';
import type { MasqExpression } from './masq';
import type { MetaExpression } from './meta';
import type { NatExpression } from './nat';
import type { NotrackExpression } from './notrack';
import type { NumgenExpression } from './numgen';
import type { ObjrefExpression } from './objref';
import type { OpaqueExpression } from './opaque';
import type { OsfExpression } from './osf';
import type { PayloadExpression } from './payload';
import type { QueueExpression } from './queue';
import type { QuotaExpression } from './quota';
import type { RangeExpression } from './range';
import type { RedirExpression } from './redir';
import type { RejectExpression } from './reject';
import type { RtExpression } from './rt';
import type { SocketExpression } from './socket';
import type { SynproxyExpression } from './synproxy';
import type { TproxyExpression } from './tproxy';
import type { XfrmExpression } from './xfrm';

/** What a dynset does with the element. */
export type DynsetOp = 'add' | 'update' | 'delete';

/** `dynset`: adds or updates an element of a set from the packet path (`update @flows { ip saddr }`). */
export interface DynsetExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'dynset';
  /** Set name. */
  set: string;
  /** NFTA_SET_ID of a set created in the same transaction. */
  setId?: number;
  /** Add, update or delete. */
  op: DynsetOp | number;
  /** Register holding the key. */
  sregKey: number;
  /** For maps: the register holding the data to store. */
  sregData?: number;
  /** Element timeout in milliseconds (0: the set's default). */
  timeout?: number;
  /** Expressions attached to the element (counter, limit, ...). */
  expressions?: Expression[];
  /** Match when the operation did not happen. */
  invert?: boolean;
}

/** Any nf_tables expression, discriminated by `type`. */
export type Expression =
  | BitwiseExpression
  | ByteorderExpression
  | CmpExpression
  | ConnlimitExpression
  | CounterExpression
  | CtExpression
  | DupExpression
  | DynsetExpression
  | ExthdrExpression
  | FibExpression
  | FlowOffloadExpression
  | FwdExpression
  | HashExpression
  | ImmediateExpression
  | LastExpression
  | LimitExpression
  | LogExpression
  | LookupExpression
  | MasqExpression
  | MetaExpression
  | NatExpression
  | NotrackExpression
  | NumgenExpression
  | ObjrefExpression
  | OsfExpression
  | PayloadExpression
  | QueueExpression
  | QuotaExpression
  | RangeExpression
  | RedirExpression
  | RejectExpression
  | RtExpression
  | SocketExpression
  | SynproxyExpression
  | TproxyExpression
  | XfrmExpression
  | OpaqueExpression;
