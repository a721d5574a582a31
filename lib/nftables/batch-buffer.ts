/**
 * The buffer a transaction encodes its commands into as they are added,
 * with room at its start for NFNL_MSG_BATCH_BEGIN. When every command was
 * encoded when added (a transaction of rules: no command waits for
 * something read at commit), the batch is this buffer itself: BEGIN written
 * into the room, END appended, nothing copied (a 1,000-rule batch is
 * ~200 KB: the copy and its fresh pages were part of a new process's first
 * commit, bench/notes.md).
 *
 * A batch handed out may still be in flight (the socket's I/O thread sends
 * it): the next write copies the buffer first and leaves that one alone.
 * @module
 */
import { NLM_F_ECHO } from '../netlink/constants';
import { NFNL_SUBSYS_NFTABLES, writeBatchBegin, writeBatchEnd } from '../netlink/nfnetlink';
import { NetlinkWriter } from '../netlink/writer';

/** Room for BATCH_BEGIN: its header and nfgenmsg (20 bytes), and NFNL_BATCH_GENID when a generation is expected (8). */
const ROOM = 28;

/** A batch written in place: `buffer` is sent; message offsets are offsets in `base` (the whole buffer, BEGIN at `offsets[0]`). */
export interface InPlaceBatch {
  buffer: Buffer;
  base: Buffer;
  offsets: number[];
}

export class BatchBuffer {
  private w = new NetlinkWriter(4096);
  /** While a batch is handed out: where its BATCH_END starts (the commands end there); else -1. */
  private handedOut = -1;

  constructor() {
    this.w.struct(ROOM);
  }

  /** The writer to encode commands into (after a copy when a batch was handed out). */
  get writer(): NetlinkWriter {
    if (this.handedOut >= 0) this.unshare();
    return this.w;
  }

  /** The batch [BATCH_BEGIN, every message written, BATCH_END], a view of this buffer. */
  batch(generation: number | undefined): InPlaceBatch {
    const w = this.writer;
    const begin = new NetlinkWriter(ROOM);
    writeBatchBegin(begin, NFNL_SUBSYS_NFTABLES, NLM_F_ECHO, generation);
    const start = ROOM - begin.length;
    w.view.set(begin.written(), start);
    this.handedOut = w.length;
    writeBatchEnd(w, NFNL_SUBSYS_NFTABLES);
    // One copy of the offsets array (a builtin copy, not a loop per message).
    return { buffer: w.written(start), base: w.view, offsets: [start].concat(w.messageOffsets) };
  }

  /** Goes on in a copy of the commands' bytes and offsets (without the BATCH_END written for the batch handed out). */
  private unshare(): void {
    const end = this.handedOut;
    const old = this.w;
    const w = new NetlinkWriter(Math.max(4096, end * 2));
    w.bytes(old.written(0, end));
    for (const m of old.messageOffsets) if (m < end) w.messageOffsets.push(m);
    this.w = w;
    this.handedOut = -1;
  }
}
