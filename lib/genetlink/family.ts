/**
 * Generic netlink families as the controller ("nlctrl") describes them:
 * CTRL_CMD_GETFAMILY resolves a name to the id requests are sent to, the
 * version, the fixed header size, the highest attribute, the commands and
 * the multicast groups. Ids are assigned when a family registers (a module
 * loads), so code resolves names instead of hard-coding ids.
 * @module
 */
import { ENOENT } from '../netlink/errno';
import { NetlinkError, NotFoundError, ValidationError } from '../netlink/errors';
import { Attributes } from '../netlink/parser';
import type { Operation } from '../netlink/operation';
import { rejectControlCharacters } from '../validate/names';
import * as C from './constants';
import { genlCall, genlDump, type GenlMessage } from './message';

/** What a family's command can do (CTRL_ATTR_OP_FLAGS). */
export type GenlCommandFlag = 'admin-perm' | 'do' | 'dump' | 'has-policy' | 'uns-admin-perm';

const COMMAND_FLAGS: ReadonlyArray<[GenlCommandFlag, number]> = [
  ['admin-perm', C.GENL_ADMIN_PERM],
  ['do', C.GENL_CMD_CAP_DO],
  ['dump', C.GENL_CMD_CAP_DUMP],
  ['has-policy', C.GENL_CMD_CAP_HASPOL],
  ['uns-admin-perm', C.GENL_UNS_ADMIN_PERM],
];

/** One command a family accepts. */
export interface GenlCommand {
  /** The command number. */
  id: number;
  /** What it can do: `do` (a single request), `dump`, and the permissions it needs. */
  flags: GenlCommandFlag[];
}

/** One multicast group of a family: join `id` to receive its notifications. */
export interface GenlMulticastGroup {
  /** The group's name ("monitor", "notify", ...). */
  name: string;
  /** The group number to join. */
  id: number;
}

/** A generic netlink family, as the controller reports it. */
export interface GenlFamily {
  /** The family's name ("ethtool", "nlctrl", "wireguard", ...). */
  name: string;
  /** The id requests are sent to (the netlink message type). */
  id: number;
  /** The family's protocol version. */
  version: number;
  /** Bytes of the family's fixed header after genlmsghdr (0 for most). */
  headerSize: number;
  /** The highest attribute number the family knows. */
  maxAttribute: number;
  /** The commands it accepts (listed only where the kernel lists them). */
  commands: GenlCommand[];
  /** Its multicast groups. */
  multicastGroups: GenlMulticastGroup[];
}

/** Checks a family name: 1-15 bytes, no control characters. */
export function validateFamilyName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError('family name', name, 'must be a non-empty string');
  if (Buffer.byteLength(name) > C.GENL_NAMSIZ - 1) throw new ValidationError('family name', name, `longer than ${C.GENL_NAMSIZ - 1} bytes`);
  return rejectControlCharacters(name, 'family name');
}

/** The controller itself, which answers every family lookup. */
const CONTROLLER = { id: C.GENL_ID_CTRL, version: C.GENL_CTRL_VERSION };

/** Decodes a CTRL_CMD_NEWFAMILY message. */
export function decodeFamily(m: GenlMessage): GenlFamily {
  const a = m.attributes;
  const commands: GenlCommand[] = [];
  // Both lists are nests numbered 1, 2, ... holding one entry each.
  for (const raw of a.nested(C.CTRL_ATTR_OPS)?.list ?? []) {
    const op = new Attributes(raw.data);
    const bits = op.u32(C.CTRL_ATTR_OP_FLAGS) ?? 0;
    commands.push({ id: op.u32(C.CTRL_ATTR_OP_ID) ?? 0, flags: COMMAND_FLAGS.filter(([, bit]) => bits & bit).map(([name]) => name) });
  }
  const multicastGroups: GenlMulticastGroup[] = [];
  for (const raw of a.nested(C.CTRL_ATTR_MCAST_GROUPS)?.list ?? []) {
    const g = new Attributes(raw.data);
    multicastGroups.push({ name: g.string(C.CTRL_ATTR_MCAST_GRP_NAME) ?? '', id: g.u32(C.CTRL_ATTR_MCAST_GRP_ID) ?? 0 });
  }
  return {
    name: a.string(C.CTRL_ATTR_FAMILY_NAME) ?? '',
    id: a.u16(C.CTRL_ATTR_FAMILY_ID) ?? 0,
    version: a.u32(C.CTRL_ATTR_VERSION) ?? 0,
    headerSize: a.u32(C.CTRL_ATTR_HDRSIZE) ?? 0,
    maxAttribute: a.u32(C.CTRL_ATTR_MAXATTR) ?? 0,
    commands,
    multicastGroups,
  };
}

/** The family's multicast group of this name; a ValidationError naming the groups it has otherwise. */
export function multicastGroup(family: GenlFamily, name: string): GenlMulticastGroup {
  const g = family.multicastGroups.find((x) => x.name === name);
  if (!g) {
    const known = family.multicastGroups.map((x) => x.name);
    throw new ValidationError('multicast group', name, `family ${family.name} has ${known.length ? `the groups ${known.join(', ')}` : 'no multicast groups'}`);
  }
  return g;
}

function* lookup(name: string): Operation<GenlFamily> {
  const operation = `get generic netlink family ${name}`;
  let replies: GenlMessage[];
  try {
    replies = yield* genlCall(CONTROLLER, C.CTRL_CMD_GETFAMILY, { attributes: (w) => w.string(C.CTRL_ATTR_FAMILY_NAME, name), operation });
  } catch (e) {
    // The controller answers ENOENT for a name no family registered.
    if (e instanceof NetlinkError && e.errno === ENOENT) throw NotFoundError.from('generic netlink family', e);
    throw e;
  }
  const reply = replies.find((r) => r.command === C.CTRL_CMD_NEWFAMILY);
  if (!reply) throw new NotFoundError('generic netlink family', { operation });
  return decodeFamily(reply);
}

/**
 * The controller's operations (`genl.families.*`): look families up by name
 * and list them. Run them on any generic netlink socket.
 */
export const familyOps = {
  /**
   * The family of this name. A name the kernel does not know (module not
   * loaded, or not built) is a `NotFoundError` (code ENOENT).
   * @example
   * const ethtool = await genl.families.get('ethtool');
   * console.log(ethtool.id, ethtool.multicastGroups); // 21 [ { name: 'monitor', id: 5 } ]
   */
  *get(name: string): Operation<GenlFamily> {
    return yield* lookup(validateFamilyName(name));
  },

  /**
   * The family of this name, or undefined when the kernel has none.
   * @example
   * if (!(await genl.families.find('wireguard'))) console.log('no WireGuard module loaded');
   */
  *find(name: string): Operation<GenlFamily | undefined> {
    const valid = validateFamilyName(name);
    try {
      return yield* lookup(valid);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  },

  /**
   * Every family the kernel has registered (`genl ctrl list`), nlctrl included.
   * @example
   * console.log((await genl.families.list()).map((f) => f.name));
   */
  *list(): Operation<GenlFamily[]> {
    const replies = yield* genlDump(CONTROLLER, C.CTRL_CMD_GETFAMILY, { operation: 'list generic netlink families' });
    return replies.filter((r) => r.command === C.CTRL_CMD_NEWFAMILY).map(decodeFamily);
  },
};
