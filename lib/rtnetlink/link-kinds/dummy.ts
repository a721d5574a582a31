/**
 * dummy: a link that drops what it is sent (an address holder, a route
 * target, a stand-in NIC in tests). It has no options of its own.
 * @module
 */
import { keysOf } from '../../validate/options';
import type { LinkKind } from './kind';

/** `kind: 'dummy'` options of {@link linkOps.add}. */
export interface DummyOptions {
  /** The link kind. */
  kind: 'dummy';
}

/** A dummy has no kind data. */
export type DummyInfo = Record<string, never>;

export const dummy: LinkKind<DummyOptions, DummyInfo> = {
  kind: 'dummy',
  optionKeys: keysOf<DummyOptions>()(['kind']),
  encode() {
    // nothing: a dummy has no IFLA_INFO_DATA
  },
  decode() {
    return {};
  },
};
