/**
 * The step every ethtool operation starts with: resolving the "ethtool"
 * family to its id (one controller round trip; ids are fixed while the
 * kernel runs, but resolving keeps operations free of hidden state).
 * @module
 */
import type { Operation } from '../../netlink/operation';
import { familyOps, type GenlFamily } from '../family';
import { ETHTOOL_GENL_NAME } from './constants';

/** Resolves the ethtool family (ENOENT if the kernel was built without ethtool netlink). */
export function* ethtoolFamily(): Operation<GenlFamily> {
  return yield* familyOps.get(ETHTOOL_GENL_NAME);
}
