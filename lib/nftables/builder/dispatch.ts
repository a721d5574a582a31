/**
 * Lowering of dispatch: a number from a generator (`numgen random mod 2`,
 * `numgen inc mod 2`) or a hash (`jhash ip saddr mod 2`, `symhash mod 2`)
 * looks up the verdict (`vmap { 0 : goto a, 1 : goto b }`): load balancing
 * across chains, one chain per backend.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { validateInteger, validateU32 } from '../../validate/integers';
import { isObject } from '../../validate/options';
import { hostU32 } from '../data';
import type { SetElement } from '../elements';
import { register32 } from '../registers';
import { BYTEORDER_HOST, UDATA_SET_KEYBYTEORDER, buildUdata } from '../userdata';
import type { BuildContext, Step } from './context';
import { fieldByName, type Field } from './fields';
import { namedSet } from './match';
import type { DispatchOptions } from './options';
import { verdictOf } from './statements';

/** The generator and hash yield host-order numbers: the map says so, so `nft list` prints its keys as numbers. */
const HOST_KEY_USERDATA = buildUdata([{ type: UDATA_SET_KEYBYTEORDER, value: hostU32(BYTEORDER_HOST) }]);

/** The hashed fields go from the second 16-byte register on, as nft loads them (the result goes to the first). */
const HASH_SOURCE_INDEX = 4;

/** Checks the options where the builder method is called and returns the step. */
export function dispatch(o: DispatchOptions): Step {
  if (!isObject(o)) throw new ValidationError('dispatch', o, 'must be an options object');
  const mod = validateInteger(o.mod, 'dispatch mod', 1, 0xffffffff);
  const offset = o.offset === undefined ? undefined : validateU32(o.offset, 'dispatch offset');
  const by = o.by;
  let hashed: Field[] = [];
  let seed: number | undefined;
  if (typeof by === 'object') {
    // JavaScript callers have no type checker.
    if (!isObject(by) || (by.jhash as unknown) === undefined)
      throw new ValidationError('dispatch by', by, 'must be "random", "incremental", "symhash" or { jhash: fields }');
    hashed = (Array.isArray(by.jhash) ? by.jhash : [by.jhash]).map(fieldByName);
    if (!hashed.length) throw new ValidationError('dispatch by jhash', by.jhash, 'needs at least one field');
    seed = by.seed === undefined ? undefined : validateU32(by.seed, 'dispatch seed');
  } else if (!['random', 'incremental', 'symhash'].includes(by)) {
    throw new ValidationError('dispatch by', by, 'must be "random", "incremental", "symhash" or { jhash: fields }');
  }
  let elements: SetElement[] | undefined;
  if (typeof o.map !== 'string') {
    if (!Array.isArray(o.map) || !o.map.length) throw new ValidationError('dispatch map', o.map, 'needs at least one entry, or "@name" of a verdict map');
    elements = o.map.map((e) => ({ key: hostU32(validateInteger(e.key, 'dispatch map key', 0, 0xffffffff)), verdict: verdictOf(e.verdict) }));
  }
  const named = typeof o.map === 'string' ? namedSet(o.map) : undefined;
  return (ctx: BuildContext) => {
    if (by === 'random' || by === 'incremental') {
      ctx.push({ type: 'numgen', dreg: 1, mode: by, modulus: mod, offset: offset ?? 0 });
    } else if (by === 'symhash') {
      ctx.push({ type: 'hash', hashType: 'symhash', dreg: 1, modulus: mod, offset: offset ?? 0 });
    } else {
      for (const f of hashed) ctx.need(f.deps(ctx.family));
      let idx = HASH_SOURCE_INDEX;
      let len = 0;
      for (const f of hashed) {
        ctx.push(f.load(register32(idx)));
        idx += Math.ceil(f.len / 4);
        len += Math.ceil(f.len / 4) * 4;
      }
      // A single field hashes its own length; a concatenation its register-aligned parts.
      if (hashed.length === 1) len = hashed[0].len;
      ctx.push({
        type: 'hash',
        hashType: 'jhash',
        sreg: register32(HASH_SOURCE_INDEX),
        len,
        dreg: 1,
        modulus: mod,
        // No seed: the kernel picks a random one (as for nft without `seed`).
        ...(seed !== undefined ? { seed } : {}),
        offset: offset ?? 0,
      });
    }
    const lookup =
      named !== undefined
        ? { set: named }
        : ctx.anonymous({ keyType: 'integer', keyLength: 4, dataType: 'verdict', interval: false, userdata: HOST_KEY_USERDATA }, elements ?? []);
    ctx.push({ type: 'lookup', ...lookup, sreg: 1, dreg: 0 });
  };
}
