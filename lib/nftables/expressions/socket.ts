/**
 * socket: loads a property of the local socket the packet belongs to
 * (`socket transparent 1`, `socket mark 0x00000005`, `socket cgroupv2 level 1 ...`).
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_SOCKET_KEY = 1;
const NFTA_SOCKET_DREG = 2;
const NFTA_SOCKET_LEVEL = 3;
const KNOWN = [1, 2, 3];

/** What is loaded from the socket. */
export type SocketKey = 'transparent' | 'mark' | 'wildcard' | 'cgroupv2';
export const SOCKET_KEYS = new NameTable<SocketKey>('socket key', [
  ['transparent', 0],
  ['mark', 1],
  ['wildcard', 2],
  ['cgroupv2', 3],
]);

/** `socket`: a property of the packet's socket into a register. */
export interface SocketExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'socket';
  /** Socket property. */
  key: SocketKey | number;
  /** Destination register. */
  dreg: number;
  /** cgroupv2: the ancestor level of the socket's cgroup compared. */
  level?: number;
}

export const socketCodec: ExpressionCodec<SocketExpression> = {
  name: 'socket',
  type: 'socket',
  encode(w, e) {
    w.be32(NFTA_SOCKET_KEY, SOCKET_KEYS.number(e.key));
    w.be32(NFTA_SOCKET_DREG, e.dreg);
    if (e.level !== undefined) w.be32(NFTA_SOCKET_LEVEL, e.level);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: SocketExpression = { type: 'socket', key: SOCKET_KEYS.name(be32Or0(a, NFTA_SOCKET_KEY)), dreg: be32Or0(a, NFTA_SOCKET_DREG) };
    setIf(e, 'level', a.be32(NFTA_SOCKET_LEVEL));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
