/**
 * Lowering of set updates from the packet path (dynset): `update @s { ip
 * saddr timeout 10s }` refreshes or adds the element, `add @s { ... }` only
 * adds it; with a value (`update @m { ip saddr : 0x1 }`) it writes a map
 * element — session affinity remembers a client's backend that way.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { validateInteger } from '../../validate/integers';
import { isObject } from '../../validate/options';
import { alignedLength, dataTypeByName } from '../datatypes';
import { register32 } from '../registers';
import type { Step } from './context';
import { fieldByName } from './fields';
import { loadFields, namedSet } from './match';
import type { SetUpdateOptions } from './options';

/** One 16-byte register, in 4-byte register slots: the key fills whole ones, the value takes the next. */
const SLOTS_PER_REGISTER = 4;

/** Checks the options where the builder method is called and returns the step. */
export function setUpdate(op: 'add' | 'update', set: string, o: SetUpdateOptions): Step {
  const field = `${op} set`;
  if (typeof set !== 'string') throw new ValidationError(field, set, 'must be "@name" of a set or map');
  const name = namedSet(set);
  if (!isObject(o)) throw new ValidationError(field, o, 'must be an options object');
  const keys = (Array.isArray(o.key) ? o.key : [o.key]).map(fieldByName);
  if (!keys.length) throw new ValidationError(`${field} key`, o.key, 'needs at least one field');
  const timeout = o.timeout === undefined ? undefined : validateInteger(o.timeout, `${field} timeout`, 0, Number.MAX_SAFE_INTEGER);
  if (o.valueType !== undefined && o.value === undefined) throw new ValidationError(`${field} valueType`, o.valueType, 'only goes with a value');
  let data: Buffer | undefined;
  if (o.value !== undefined) {
    const type = dataTypeByName(o.valueType ?? 'mark', `${field} valueType`);
    if (type.size === 0) throw new ValidationError(`${field} valueType`, type.name, 'must be a fixed-size type (mark, ipv4_addr, inet_service, ...)');
    data = type.parse(o.value, type.size, `${field} value`);
  }
  return (ctx) => {
    loadFields(ctx, keys);
    let sregData: number | undefined;
    if (data) {
      const keySlots = keys.reduce((n, k) => n + alignedLength(k.len) / 4, 0);
      sregData = register32(Math.ceil(keySlots / SLOTS_PER_REGISTER) * SLOTS_PER_REGISTER);
      ctx.push({ type: 'immediate', dreg: sregData, data });
    }
    ctx.push({
      type: 'dynset',
      set: name,
      op,
      sregKey: 1,
      ...(sregData !== undefined ? { sregData } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
    });
  };
}
