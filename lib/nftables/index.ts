/**
 * nftables: the public surface (re-exported from the package root).
 * @module
 */
export { Nftables, type NftGeneration } from './api';
export { RuleBuilder, Negated, not, rule } from './builder/builder';
export { RuleMatches } from './builder/rule-matches';
export { RuleSteps } from './builder/rule-steps';
export type {
  CtLabelOptions,
  CtStateName,
  CtStatusName,
  FibType,
  LimitOptions,
  LogOptions,
  MatchValue,
  NatMapEntry,
  NatMapOptions,
  NatOptions,
  RejectOptions,
  VerdictSpec,
  WeightedBackend,
  DispatchOptions,
  DscpName,
  DupOptions,
  MarkUpdate,
  MaskedMark,
  QueueOptions,
  QuotaOptions,
  SetUpdateOptions,
  TcpFlagName,
  TcpFlagsMatch,
  TcpOptionMatch,
  TcpOptionName,
  TproxyOptions,
} from './builder/builder';
export type { FieldName } from './builder/fields';
export type { Chain, ChainFlag, ChainHook, ChainPolicy, ChainRef, ChainType, PriorityName } from './chain';
export { resolvePriority } from './chain';
export { parseConnlabels, readConnlabels, type CtLabelMap } from '../validate/connlabels';
export type { Verdict, VerdictCode } from './data';
export type { DataTypeName, Scalar } from './datatypes';
export type { ElementValue, SetElement } from './elements';
export { GenerationMismatchError, NftCommandError } from './errors';
export type {
  NftChainEvent,
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias, still exported; events carry `action`
  NftChange,
  NftElementsEvent,
  NftEvent,
  NftEvents,
  NftEventStream,
  NftStreamEvent,
  NftSubscribeOptions,
  NftGenerationEvent,
  NftObjectEvent,
  NftRuleEvent,
  NftSetEvent,
  NftTableEvent,
} from './events';
export type { Expression } from './expressions/registry';
export type { HasUnknownAttributes } from './expressions/codec';
export type { BitwiseExpression, BitwiseOp } from './expressions/bitwise';
export type { ByteorderExpression, ByteorderOp } from './expressions/byteorder';
export type { CmpExpression, CmpOp } from './expressions/cmp';
export type { ConnlimitExpression } from './expressions/connlimit';
export type { CounterExpression } from './expressions/counter';
export type { CtDirection, CtExpression, CtKey } from './expressions/ct';
export type { DupExpression } from './expressions/dup';
export type { DynsetExpression, DynsetOp } from './expressions/dynset';
export type { ExthdrExpression, ExthdrFlag, ExthdrOp } from './expressions/exthdr';
export type { FibExpression, FibFlag, FibResult } from './expressions/fib';
export type { RuleSet } from './anonymous-sets';
export type { FwdExpression, FwdFamily } from './expressions/fwd';
export type { HashExpression, HashType } from './expressions/hash';
export type { ImmediateExpression } from './expressions/immediate';
export type { LimitExpression, LimitType } from './expressions/limit';
export type { LogExpression, LogFlag, LogLevel } from './expressions/log';
export type { LookupExpression } from './expressions/lookup';
export type { MasqExpression } from './expressions/masq';
export type { MetaExpression, MetaKey } from './expressions/meta';
export type { NatExpression, NatType } from './expressions/nat';
export type { NatFlag } from './expressions/nat-flags';
export type { NotrackExpression } from './expressions/notrack';
export type { NumgenExpression, NumgenMode } from './expressions/numgen';
export type { ObjrefExpression } from './expressions/objref';
export type { OpaqueExpression } from './expressions/opaque';
export type { OsfExpression, OsfTtl } from './expressions/osf';
export type { ChecksumType, PayloadBase, PayloadExpression } from './expressions/payload';
export type { QueueExpression, QueueFlag } from './expressions/queue';
export type { QuotaExpression } from './expressions/quota';
export type { RangeExpression, RangeOp } from './expressions/range';
export type { RedirExpression } from './expressions/redir';
export type { RejectExpression, RejectType } from './expressions/reject';
export type { RtExpression, RtKey } from './expressions/rt';
export type { SocketExpression, SocketKey } from './expressions/socket';
export type { SynproxyExpression, SynproxyFlag } from './expressions/synproxy';
export type { TproxyExpression, TproxyFamily } from './expressions/tproxy';
export type { LastExpression } from './expressions/last';
export type { XfrmDirection, XfrmExpression, XfrmKey } from './expressions/xfrm';
export type { Generation, NftFilter, NftObjectFilter, Ruleset, SetWithElements } from './list';
// The read operations behind h.nft.tables & co., for running on any netfilter connection.
export { nftChainOps, nftElementOps, nftGenerationOps, nftObjectOps, nftRuleOps, nftRulesetOps, nftSetOps, nftTableOps } from './list';
export { nftObjectResetOps, nftRuleResetOps } from './reset';
export { nftElementGetOps, type ElementRef } from './element-get';
export { nftFlowtableOps } from './flowtable-list';
export type { Flowtable, FlowtableFlag, FlowtableRef } from './flowtable';
export type { FlowOffloadExpression } from './expressions/flow-offload';
export type { NftFamily } from './message';
export type {
  CounterObject,
  CtExpectationObject,
  CtHelperObject,
  CtTimeoutObject,
  LimitObject,
  NftObject,
  ObjectHandleRef,
  ObjectRef,
  OpaqueObject,
  QuotaObject,
  SecmarkObject,
  SynproxyObject,
} from './object';
export type { CtExpectationFields, CtHelperFields, CtTimeoutFields, IpProtocol } from './object-ct';
export type { SecmarkFields } from './object-secmark';
export type { SynproxyFields } from './object-synproxy';
export type { ObjectType } from './object-types';
export type { Rule, RuleRef } from './rule';
export type { NftSet, SetDataType, SetFlag, SetHandleRef, SetRef } from './set';
export type { Table, TableFlag, TableRef } from './table';
export { Transaction } from './transaction';
export type { AddOptions, CommandAnchor, CommandResult, CommitOptions, CommitResult, EchoMode, RuleAnchor, RuleInput } from './transaction';
