/**
 * Types of named stateful objects (NFT_OBJECT_*), by nft's names.
 * @module
 */
import * as C from './constants';
import { NameTable } from './names';

/** Types of named stateful objects. */
export type ObjectType = 'counter' | 'quota' | 'ct helper' | 'limit' | 'connlimit' | 'tunnel' | 'ct timeout' | 'secmark' | 'ct expectation' | 'synproxy';

export const OBJECT_TYPES = new NameTable<ObjectType>('object type', [
  ['counter', C.NFT_OBJECT_COUNTER],
  ['quota', C.NFT_OBJECT_QUOTA],
  ['ct helper', C.NFT_OBJECT_CT_HELPER],
  ['limit', C.NFT_OBJECT_LIMIT],
  ['connlimit', C.NFT_OBJECT_CONNLIMIT],
  ['tunnel', C.NFT_OBJECT_TUNNEL],
  ['ct timeout', C.NFT_OBJECT_CT_TIMEOUT],
  ['secmark', C.NFT_OBJECT_SECMARK],
  ['ct expectation', C.NFT_OBJECT_CT_EXPECT],
  ['synproxy', C.NFT_OBJECT_SYNPROXY],
]);
