/**
 * Connection tracking: the public surface (re-exported from the package root).
 * @module
 */
export {
  conntrackOps,
  entryMatches,
  type ConntrackFilter,
  type ConntrackTupleFilter,
  type ConntrackKey,
  type ConntrackOperations,
  type ConntrackSyncOperations,
  type ConntrackChanges,
} from './conntrack';
export type { ConntrackEntry, ConntrackTuple } from './entry';
export type {
  ConntrackEvent,
  ConntrackEventKind,
  ConntrackEventStream,
  ConntrackEvents,
  ConntrackStreamEvent,
  ConntrackSyncEvents,
  ConntrackSubscribeOptions,
} from './events';
