/**
 * CHANNELS: a device's queues (`ethtool -l` / `ethtool -L`): how many
 * receive, transmit, other and combined channels it has and may have.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import type { Operation } from '../../netlink/operation';
import { rejectUnknownKeys } from '../../validate/options';
import { genlCall } from '../message';
import * as C from './constants';
import { ethtoolFamily } from './family';
import { aboutDevice, checkLinkRef, describeLink, onlyReply, readReplyHeader, writeRequestHeader, type EthtoolDevice, type EthtoolLinkRef } from './header';

/** Channel counts to set; give at least one. */
export interface EthtoolChannelCounts {
  /** Receive-only channels. */
  rx?: number;
  /** Transmit-only channels. */
  tx?: number;
  /** Other channels (link interrupts, ...). */
  other?: number;
  /** Combined receive+transmit channels. */
  combined?: number;
}

/** A device's channels: current counts and maximums (absent where the driver reports none). */
export interface EthtoolChannels extends EthtoolDevice, EthtoolChannelCounts {
  /** Most receive-only channels possible. */
  rxMax?: number;
  /** Most transmit-only channels possible. */
  txMax?: number;
  /** Most other channels possible. */
  otherMax?: number;
  /** Most combined channels possible. */
  combinedMax?: number;
}

const COUNTS: ReadonlyArray<[keyof EthtoolChannelCounts, number, number]> = [
  ['rx', C.ETHTOOL_A_CHANNELS_RX_COUNT, C.ETHTOOL_A_CHANNELS_RX_MAX],
  ['tx', C.ETHTOOL_A_CHANNELS_TX_COUNT, C.ETHTOOL_A_CHANNELS_TX_MAX],
  ['other', C.ETHTOOL_A_CHANNELS_OTHER_COUNT, C.ETHTOOL_A_CHANNELS_OTHER_MAX],
  ['combined', C.ETHTOOL_A_CHANNELS_COMBINED_COUNT, C.ETHTOOL_A_CHANNELS_COMBINED_MAX],
];

/** `genl.ethtool.channels`: a device's queue counts. */
export const channelsOps = {
  /**
   * The channels of one device (`ethtool -l DEV`).
   * @example
   * const ch = await genl.ethtool.channels.get('veth0');
   * console.log(ch.rx, 'of', ch.rxMax);
   */
  *get(link: EthtoolLinkRef): Operation<EthtoolChannels> {
    const ref = checkLinkRef(link);
    const family = yield* ethtoolFamily();
    const replies = yield* aboutDevice(
      genlCall(family, C.ETHTOOL_MSG_CHANNELS_GET, {
        attributes: (w) => {
          writeRequestHeader(w, C.ETHTOOL_A_CHANNELS_HEADER, ref);
        },
        operation: `ethtool get channels of ${describeLink(ref)}`,
      }),
    );
    const reply = onlyReply(replies, 'ethtool channels');
    const a = reply.attributes;
    const out: EthtoolChannels = readReplyHeader(a, C.ETHTOOL_A_CHANNELS_HEADER);
    for (const [key, countAttr, maxAttr] of COUNTS) {
      const max = a.u32(maxAttr);
      if (max === undefined) continue;
      out[`${key}Max`] = max;
      out[key] = a.u32(countAttr) ?? 0;
    }
    return out;
  },

  /**
   * Changes channel counts (`ethtool -L DEV rx N`); members left out keep
   * their value. The kernel refuses counts above the maximums (EINVAL) and
   * drivers without the operation (EOPNOTSUPP). Notifies the "monitor" group.
   * @example
   * await genl.ethtool.channels.set('veth0', { rx: 2 });
   */
  *set(link: EthtoolLinkRef, counts: EthtoolChannelCounts): Operation<void> {
    const ref = checkLinkRef(link);
    const given: unknown = counts; // callers in plain JavaScript may pass anything
    if (typeof given !== 'object' || given === null) throw new ValidationError('channel counts', counts, 'must be an object');
    rejectUnknownKeys(
      counts,
      COUNTS.map(([k]) => k),
      'channel counts',
    );
    if (COUNTS.every(([k]) => counts[k] === undefined)) throw new ValidationError('channel counts', counts, 'give at least one of rx, tx, other, combined');
    for (const [k] of COUNTS) {
      const v = counts[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 0xffffffff)) throw new ValidationError(k, v, 'must be a whole number of channels');
    }
    const family = yield* ethtoolFamily();
    yield* aboutDevice(
      genlCall(family, C.ETHTOOL_MSG_CHANNELS_SET, {
        attributes: (w) => {
          writeRequestHeader(w, C.ETHTOOL_A_CHANNELS_HEADER, ref);
          for (const [k, countAttr] of COUNTS) {
            const v = counts[k];
            if (v !== undefined) w.u32(countAttr, v);
          }
        },
        operation: `ethtool set channels of ${describeLink(ref)}`,
      }),
    );
  },
};
