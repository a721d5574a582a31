/**
 * cmp and immediate elements written from a template: their bytes depend on a register, an
 * operator and the value's length, then the value. Each layout is encoded once per process (by the
 * codec itself, with a zero value) and later copied with the value put in place. A new process
 * runs the encoders in the interpreter, where a dozen attribute writes per element cost far more
 * than one copy (bench/notes.md, "The first 1,000-rule commit").
 * @module
 */
import { NetlinkWriter } from '../../netlink/writer';
import { NFT_DATA_VALUE_MAXLEN } from '../constants';
import { CMP_OPS, type CmpExpression } from './cmp';
import type { Expression } from './expression';
import type { ImmediateExpression } from './immediate';

interface Template {
  bytes: Buffer;
  /** Where the value starts in `bytes`. */
  valueAt: number;
}

const templates = new Map<number, Template>();

/** The template key of an element, or -1 when it is not written from one (verdicts, unusual registers or lengths, unknown attributes). */
function keyOf(e: Expression): number {
  let kind: number;
  let reg: number;
  let data: Buffer | undefined;
  if (e.type === 'cmp') {
    if (e.unknownAttributes !== undefined || !CMP_OPS.has(e.op)) return -1;
    kind = 1 + CMP_OPS.number(e.op);
    reg = e.sreg;
    data = e.data;
  } else if (e.type === 'immediate') {
    if (e.unknownAttributes !== undefined || e.verdict !== undefined) return -1;
    kind = 0;
    reg = e.dreg;
    data = e.data;
  } else {
    return -1;
  }
  if (!Buffer.isBuffer(data) || data.length === 0 || data.length > NFT_DATA_VALUE_MAXLEN) return -1;
  if (!Number.isInteger(reg) || reg < 0 || reg > 0xff) return -1;
  return (kind << 16) | (reg << 8) | data.length;
}

/**
 * Writes a cmp or immediate list element from its template; returns false (nothing written) for
 * any other expression. `encode` writes an element the ordinary way (makes the template).
 */
export function writeFromTemplate(w: NetlinkWriter, e: Expression, encode: (w: NetlinkWriter, e: Expression) => void): boolean {
  const key = keyOf(e);
  if (key < 0) return false;
  const data = (e as CmpExpression | ImmediateExpression).data as Buffer;
  let t = templates.get(key);
  if (t === undefined) {
    const scratch = new NetlinkWriter(128);
    encode(scratch, { ...e, data: Buffer.alloc(data.length) } as Expression);
    const bytes = scratch.finish();
    // The value is the last attribute of the element: its bytes end where the element's padding starts.
    t = { bytes, valueAt: bytes.length - ((data.length + 3) & ~3) };
    templates.set(key, t);
  }
  const at = w.length + t.valueAt;
  w.bytes(t.bytes);
  const b = w.view;
  for (let i = 0; i < data.length; i++) b[at + i] = data[i];
  return true;
}
