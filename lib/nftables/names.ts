/**
 * Name ↔ number tables for enum-like fields (meta keys, cmp operators, NAT
 * flags, ...). They live in lib/validate/name-table.ts, shared with families
 * other than nftables (conntrack's protocol names); re-exported here for the
 * expression codecs.
 * @module
 */
export { FlagTable, NameTable } from '../validate/name-table';
