// The bytes of nft CLI verbs as nft sends them: `rename chain` captured with
// `nft --debug=mnl rename chain ip t c d` (chain handle 1), and `destroy`
// as the NFT_MSG_DESTROY* counterpart of each delete.
import { describe, expect, it } from 'vitest';
import { parseMessages } from '../../lib/netlink/parser';
import * as C from '../../lib/nftables/constants';
import { Transaction } from '../../lib/nftables/transaction';

/** The nf_tables commands of a transaction's batch (between BATCH_BEGIN and END). */
function commands(tx: Transaction) {
  return parseMessages(tx.encode()).slice(1, -1);
}

describe('nft CLI verbs on the wire', () => {
  it('renameChain by handle sends the NEWCHAIN nft sends: flags 0, table, new name, handle', () => {
    const tx = new Transaction();
    tx.renameChain({ family: 'ip', table: 't', handle: 1 }, 'd');
    const [m] = commands(tx);
    expect(m.type).toBe((C.NFNL_SUBSYS_NFTABLES << 8) | C.NFT_MSG_NEWCHAIN);
    expect(m.flags & 0xf00).toBe(0); // no CREATE, EXCL, REPLACE: an update only
    // nft: 02 00 00 00 | 06 00 01 00 't' | 06 00 03 00 'd' | 0c 00 02 00 <be64 1>
    expect(m.payload.toString('hex')).toBe('02000000' + '0600010074000000' + '0600030064000000' + '0c000200' + '0000000000000001');
  });

  it('missingOk turns each delete into its NFT_MSG_DESTROY* message', () => {
    const tx = new Transaction();
    const T = { family: 'inet', table: 'f' } as const;
    tx.deleteTable({ family: 'inet', name: 'f' }, { missingOk: true });
    tx.deleteChain({ ...T, name: 'c' }, { missingOk: true });
    tx.deleteRule({ ...T, chain: 'c', handle: 4 }, { missingOk: true });
    tx.deleteSet({ ...T, name: 's' }, { missingOk: true });
    tx.deleteObject({ ...T, name: 'o', type: 'counter' }, { missingOk: true });
    tx.deleteTable({ family: 'inet', name: 'f' }, { missingOk: false });
    expect(commands(tx).map((m) => m.type & 0xff)).toEqual([
      C.NFT_MSG_DESTROYTABLE,
      C.NFT_MSG_DESTROYCHAIN,
      C.NFT_MSG_DESTROYRULE,
      C.NFT_MSG_DESTROYSET,
      C.NFT_MSG_DESTROYOBJ,
      C.NFT_MSG_DELTABLE,
    ]);
  });
});
