/**
 * For `describeNftRule`: how a set a rule refers to prints — `@name` for a
 * named set, the elements of an anonymous one inline (`{ 22, 80 }`,
 * `{ 22 : accept, 80 : drop }`), as nft prints them.
 * @module
 */
import { HOST_LITTLE_ENDIAN } from './data';
import { verdictText } from './describe-statements';
import { formatElementValue, type InterfaceNames } from './describe-values';
import type { ElementValue } from './elements';
import type { SetWithElements } from './list';
import { BYTEORDER_HOST, UDATA_SET_KEYBYTEORDER, parseUdata } from './userdata';

/**
 * `@name` for a named set; the elements of an anonymous one, `{ 22, 80 }`.
 * `fieldTypes` (the types of what the rule looks up) stand in for key types
 * nlkit has no name for (`tcp flags { syn, ack }`).
 */
export function setText(name: string, set: SetWithElements | undefined, names?: InterfaceNames, fieldTypes: readonly string[] = []): string {
  const anonymous = set ? (set.flags ?? []).includes('anonymous') : /^__(set|map)\d+$/.test(name);
  if (!anonymous || !set) return `@${name}`;
  const keyTypes = (Array.isArray(set.keyType) ? set.keyType : [set.keyType]).map((t, i) =>
    typeof t === 'number' && fieldTypes[i] ? fieldTypes[i] : String(t),
  );
  const dataTypes = set.dataType === undefined || set.dataType === 'verdict' ? [] : (Array.isArray(set.dataType) ? set.dataType : [set.dataType]).map(String);
  const hostOrderKey = keyTypes.length === 1 && keyTypes[0] === 'integer' && keyByteOrder(set) === BYTEORDER_HOST;
  const elements = set.elements.map((el) => {
    let key = el.catchall ? '*' : formatElementValue(keyTypes, hostOrderKey ? swapHostInteger(el.key, set.keyLength ?? 4) : el.key, names);
    if (el.keyEnd !== undefined) key += `-${formatElementValue(keyTypes, el.keyEnd, names)}`;
    if (el.verdict) return `${key} : ${verdictText(el.verdict)}`;
    if (el.object !== undefined) return `${key} : ${JSON.stringify(el.object)}`;
    if (el.value !== undefined) return `${key} : ${formatElementValue(dataTypes, el.value, names)}`;
    return key;
  });
  return `{ ${elements.join(', ')} }`;
}

/** The key byte order nft recorded in a set's userdata. */
function keyByteOrder(set: SetWithElements): number | undefined {
  const tlv = set.userdata ? parseUdata(set.userdata)?.find((t) => t.type === UDATA_SET_KEYBYTEORDER) : undefined;
  if (!tlv || tlv.value.length < 4) return undefined;
  return HOST_LITTLE_ENDIAN ? tlv.value.readUInt32LE(0) : tlv.value.readUInt32BE(0);
}

/** An integer key nft stored in host order but listed as big-endian (numgen maps): the number nft means. */
function swapHostInteger(v: ElementValue, len: number): ElementValue {
  if (typeof v !== 'number' && typeof v !== 'bigint') return v;
  const b = Buffer.alloc(len);
  let n = BigInt(v);
  for (let i = len - 1; i >= 0; i--) {
    b[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  let out = 0n;
  for (let i = len - 1; i >= 0; i--) out = (out << 8n) | BigInt(b[i]);
  return HOST_LITTLE_ENDIAN ? Number(out) : v;
}
