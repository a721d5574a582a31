/**
 * objref: applies a named stateful object (counter, quota, limit, ...) —
 * by name (`counter name "http"`) or chosen through a map keyed by a register.
 * @module
 */
import { ValidationError } from '../../netlink/errors';
import { validateNftName } from '../../validate/names';
import { unknownAttributes, writeRawAttributes } from '../data';
import { OBJECT_TYPES, type ObjectType } from '../object-types';
import { setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_OBJREF_IMM_TYPE = 1;
const NFTA_OBJREF_IMM_NAME = 2;
const NFTA_OBJREF_SET_SREG = 3;
const NFTA_OBJREF_SET_NAME = 4;
const NFTA_OBJREF_SET_ID = 5;
const KNOWN = [1, 2, 3, 4, 5];

/** `objref`: applies a named object (counter, quota, limit, ...) to the packet. */
export interface ObjrefExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'objref';
  /** A fixed object: its type and name. */
  objectType?: ObjectType | number;
  /** Name of the fixed object. */
  name?: string;
  /** Or an object map looked up with this register. */
  sreg?: number;
  /** Name of the object map. */
  set?: string;
  /** NFTA_SET_ID of an object map created in the same transaction. */
  setId?: number;
}

export const objrefCodec: ExpressionCodec<ObjrefExpression> = {
  name: 'objref',
  type: 'objref',
  encode(w, e) {
    if (e.name !== undefined) {
      if (e.objectType === undefined) throw new ValidationError('objref', e, 'a named reference needs objectType');
      w.be32(NFTA_OBJREF_IMM_TYPE, OBJECT_TYPES.number(e.objectType));
      w.string(NFTA_OBJREF_IMM_NAME, validateNftName(e.name, 'object name'));
    } else {
      if (e.sreg === undefined || (e.set === undefined && e.setId === undefined)) {
        throw new ValidationError('objref', e, 'needs objectType + name, or sreg + set');
      }
      w.be32(NFTA_OBJREF_SET_SREG, e.sreg);
      if (e.set !== undefined) w.string(NFTA_OBJREF_SET_NAME, validateNftName(e.set, 'object map'));
      if (e.setId !== undefined) w.be32(NFTA_OBJREF_SET_ID, e.setId);
    }
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: ObjrefExpression = { type: 'objref' };
    const t = a.be32(NFTA_OBJREF_IMM_TYPE);
    if (t !== undefined) e.objectType = OBJECT_TYPES.name(t);
    setIf(e, 'name', a.string(NFTA_OBJREF_IMM_NAME));
    setIf(e, 'sreg', a.be32(NFTA_OBJREF_SET_SREG));
    setIf(e, 'set', a.string(NFTA_OBJREF_SET_NAME));
    setIf(e, 'setId', a.be32(NFTA_OBJREF_SET_ID));
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
