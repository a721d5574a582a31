/**
 * Renaming a chain (`nft rename chain`): NFT_MSG_NEWCHAIN that names the chain
 * by its handle and carries the new name, as nft sends it. The kernel finds
 * the chain by NFTA_CHAIN_HANDLE when given, so NFTA_CHAIN_NAME is free to
 * be the new name.
 * @module
 */
import type { NetlinkWriter } from '../netlink/writer';
import { validateNftName } from '../validate/names';
import * as C from './constants';
import { beginNft, familyNumber, type NftFamily } from './message';
import { validateHandle } from './ranges';

/** Writes the rename of the chain with this handle (flags 0: it updates, never creates). */
export function writeRenameChain(w: NetlinkWriter, c: { family: NftFamily; table: string; handle: number }, newName: string): void {
  beginNft(w, C.NFT_MSG_NEWCHAIN, 0, familyNumber(c.family));
  w.string(C.NFTA_CHAIN_TABLE, validateNftName(c.table, 'table name'));
  w.string(C.NFTA_CHAIN_NAME, validateNftName(newName, 'new chain name'));
  w.be64(C.NFTA_CHAIN_HANDLE, BigInt(validateHandle(c.handle, 'chain handle')));
  w.end();
}
