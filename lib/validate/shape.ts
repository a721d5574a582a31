/**
 * Shape checks of JSON read back from a state directory (the networks' state
 * files, network/state-shape.ts; the services' records,
 * services/state-shape.ts): a check returns what is wrong with a value, or
 * undefined when it has the shape. What is wrong is written relative to the
 * value (" is not a string", ".name is missing", "[2].ip is not a string"):
 * a container puts the field's name or the element's index in front only when
 * something is wrong, so a value of the right shape costs no string building
 * (apply() reads 10,000s of service records; attach reads a lease file each
 * time). {@link problemAt} puts the root's name in front. Unknown fields are
 * left alone (a newer version may write more).
 * @module
 */

/** What is wrong with a value, as a path into it and why ("state.networks is missing"), or undefined. */
export type ShapeProblem = string | undefined;

/** What is wrong with a value relative to it (" is not a string", ".k is missing", "[0] is not an object"), or undefined. */
export type ShapeCheck = (v: unknown) => ShapeProblem;

/** A plain object (not an array, not null). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The problem of `v` with `root` as the start of its path (`problemAt('state', check)`: "state.networks is missing"). */
export function problemAt(root: string, check: ShapeCheck, v: unknown): ShapeProblem {
  const p = check(v);
  return p === undefined ? undefined : `${root}${p}`;
}

export const str: ShapeCheck = (v) => (typeof v === 'string' ? undefined : ' is not a string');
export const bool: ShapeCheck = (v) => (typeof v === 'boolean' ? undefined : ' is not a boolean');
export const nonNegativeInt: ShapeCheck = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : ' is not a non-negative integer');
export const finite: ShapeCheck = (v) => (typeof v === 'number' && Number.isFinite(v) ? undefined : ' is not a finite number');

/** An integer from `lo` to `hi`; `what` names the range in the problem (" is not <what>"). */
export const between =
  (lo: number, hi: number, what: string): ShapeCheck =>
  (v) =>
    Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi ? undefined : ` is not ${what}`;

/** Exactly `value` (a format's version number). */
export const exactly =
  (value: number): ShapeCheck =>
  (v) =>
    v === value ? undefined : ` is ${JSON.stringify(v)}, not ${value}`;

/** One of the strings `values`. */
export function oneOf(...values: string[]): ShapeCheck {
  const problem = ` is not one of ${values.map((x) => JSON.stringify(x)).join(', ')}`;
  return (v) => (values.includes(v as string) ? undefined : problem);
}

/** An object whose `required` fields pass their checks (checked in that order), and whose `optional` ones do when present. */
export function object(required: Record<string, ShapeCheck>, optional: Record<string, ShapeCheck> = {}): ShapeCheck {
  // Names and checks in arrays of their own: no entry pairs to take apart per field (a service's apply() checks 10,000s).
  const mustKeys = Object.keys(required);
  const mustChecks = Object.values(required);
  const mayKeys = Object.keys(optional);
  const mayChecks = Object.values(optional);
  return (v) => {
    if (!isRecord(v)) return ' is not an object';
    for (let i = 0; i < mustKeys.length; i++) {
      const k = mustKeys[i];
      if (!(k in v)) return `.${k} is missing`;
      const p = mustChecks[i](v[k]);
      if (p !== undefined) return `.${k}${p}`;
    }
    for (let i = 0; i < mayKeys.length; i++) {
      const k = mayKeys[i];
      // A field written as undefined is dropped by JSON; null is not a value any of them takes.
      if (!(k in v)) continue;
      const p = mayChecks[i](v[k]);
      if (p !== undefined) return `.${k}${p}`;
    }
    return undefined;
  };
}

/**
 * Field `k` of `o`, checked: its problem with the field's name in front. For shapes written out field by field
 * (`field(o, 'a', str) ?? field(o, 'b', bool)`): each call site reads one name, which the optimising compiler turns
 * into a plain property load, where {@link object}'s loop over names is a keyed load of many names (services'
 * records, checked by the 10,000, are written out that way).
 */
export function field(o: Record<string, unknown>, k: string, check: ShapeCheck, optional = false): ShapeProblem {
  if (!(k in o)) return optional ? undefined : `.${k} is missing`;
  const p = check(o[k]);
  return p === undefined ? undefined : `.${k}${p}`;
}

/** An array of values passing `check`; `empty`, when given, says why an empty one is wrong. */
export function arrayOf(check: ShapeCheck, empty?: string): ShapeCheck {
  return (v) => {
    if (!Array.isArray(v)) return ' is not an array';
    if (v.length === 0 && empty) return ` is empty (${empty})`;
    for (let i = 0; i < v.length; i++) {
      const p = check(v[i]);
      if (p !== undefined) return `[${i}]${p}`;
    }
    return undefined;
  };
}

/** An object of values passing `check`, each filed under the name `keyOf` gives it (when given; `keyName` names it in the problem). */
export function mapOf(check: ShapeCheck, keyOf?: (v: Record<string, unknown>) => unknown, keyName = 'name'): ShapeCheck {
  return (v) => {
    if (!isRecord(v)) return ' is not an object';
    for (const k of Object.keys(v)) {
      const x = v[k];
      const p = check(x);
      if (p !== undefined) return `[${JSON.stringify(k)}]${p}`;
      if (keyOf && keyOf(x as Record<string, unknown>) !== k)
        return `[${JSON.stringify(k)}] is filed under another ${keyName} than its own (${JSON.stringify(keyOf(x as Record<string, unknown>))})`;
    }
    return undefined;
  };
}
