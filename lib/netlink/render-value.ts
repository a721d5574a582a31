/**
 * Any value as short text for an error message, without ever throwing: the
 * value in a {@link ValidationError} is whatever the caller passed, and
 * `JSON.stringify` throws for a BigInt, a cycle or a throwing `toJSON`, and
 * gives `undefined` for a Symbol or a function.
 * @module
 */

/** The longest text {@link renderValue} returns (longer text is cut, ending in "..."). */
export const MAX_RENDERED = 200;

/** How deep objects and arrays are shown; deeper ones print as `{...}` / `[...]`. */
const MAX_DEPTH = 3;
/** How many entries of one object or array are shown. */
const MAX_ENTRIES = 20;
/** How many bytes of a Buffer or typed array are shown, in hex. */
const MAX_BYTES = 32;

/**
 * The value as JSON where JSON can say it (`"eth0"`, `5`, `{"a":[1,2]}`),
 * otherwise as JavaScript would write it: `10n`, `Symbol(x)`, `undefined`,
 * `NaN`, `-0`, `[function f]`, `[Circular]`. Reads own enumerable data
 * properties only: no getter, `toJSON`, `toString` or proxy trap of the value
 * can throw from it (what does throw prints as `[unprintable]`). At most
 * {@link MAX_RENDERED} characters.
 * @example
 * renderValue(10n); // '10n'
 * renderValue({ a: 1 }); // '{"a":1}'
 */
export function renderValue(value: unknown): string {
  let text: string;
  try {
    text = render(value, 0, []);
  } catch {
    text = '[unprintable]';
  }
  return text.length > MAX_RENDERED ? `${text.slice(0, MAX_RENDERED - 3)}...` : text;
}

function render(v: unknown, depth: number, seen: object[]): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'boolean':
    case 'undefined':
      return String(v);
    case 'symbol':
      return Symbol.prototype.toString.call(v);
    case 'function':
      return `[function ${typeof v.name === 'string' && v.name ? v.name : '(anonymous)'}]`;
    default:
      return v === null || v === undefined ? 'null' : renderObject(v, depth, seen);
  }
}

function renderObject(o: object, depth: number, seen: object[]): string {
  if (seen.includes(o)) return '[Circular]';
  if (o instanceof Date) return Number.isNaN(o.getTime()) ? 'Invalid Date' : JSON.stringify(o.toISOString());
  if (ArrayBuffer.isView(o)) return renderBytes(o);
  const isArray = Array.isArray(o);
  if (depth >= MAX_DEPTH) return isArray ? '[...]' : '{...}';
  seen.push(o);
  try {
    const parts: string[] = [];
    const keys = isArray ? Array.from({ length: (o as unknown[]).length }, (_, i) => String(i)) : Object.keys(o);
    for (const key of keys.slice(0, MAX_ENTRIES)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      const text = d === undefined ? 'undefined' : 'value' in d ? render(d.value, depth + 1, seen) : '[getter]';
      parts.push(isArray ? text : `${JSON.stringify(key)}:${text}`);
    }
    if (keys.length > MAX_ENTRIES) parts.push('...');
    return isArray ? `[${parts.join(',')}]` : `{${parts.join(',')}}`;
  } finally {
    seen.pop();
  }
}

/** Bytes as `<Buffer 01 02>` (the first MAX_BYTES; the rest counted): the refused key is often a byte string. */
function renderBytes(view: ArrayBufferView): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const shown = Array.from(bytes.subarray(0, MAX_BYTES), (b) => b.toString(16).padStart(2, '0'));
  const more = bytes.length > MAX_BYTES ? ` ... ${bytes.length - MAX_BYTES} more bytes` : '';
  return `<${view.constructor.name}${shown.length ? ' ' : ''}${shown.join(' ')}${more}>`;
}
