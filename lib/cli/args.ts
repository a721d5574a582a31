/**
 * The CLI's argv parser: positionals, `--key value`, `--key=value`, boolean
 * `--flag`s, repeatable options, short aliases (`-h`) and `--` to end the
 * options. Anything it does not know is refused with a {@link UsageError}, so
 * a typo is never silently ignored.
 * @module
 */

/** The command line itself is wrong (exit code 2); nothing was attempted. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** One option a command accepts. */
export interface OptionSpec {
  /** Long name without the dashes: "subnet", "no-isolate". */
  name: string;
  /** Placeholder of its value ("CIDR"); absent for a boolean flag. */
  value?: string;
  /** May be given several times; the values are collected in order. */
  multiple?: boolean;
  /** One-letter alias without the dash ("h"). */
  short?: string;
  /** One line for --help. */
  help?: string;
}

export type OptionValue = string | string[] | true;

export interface Parsed {
  positionals: string[];
  options: Partial<Record<string, OptionValue>>;
}

/** Parses `argv` against `specs`; throws a {@link UsageError} for anything unknown or malformed. */
export function parseCommandLine(argv: readonly string[], specs: readonly OptionSpec[]): Parsed {
  const out: Parsed = { positionals: [], options: {} };
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.flatMap((s) => (s.short ? [[s.short, s] as const] : [])));
  let i = 0;
  const take = (spec: OptionSpec, inline: string | undefined, written: string): void => {
    let value: OptionValue;
    if (spec.value === undefined) {
      if (inline !== undefined) throw new UsageError(`${written} takes no value`);
      value = true;
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = argv.at(i + 1);
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`${written} needs a value (${spec.value})`);
      value = next;
      i++;
    }
    const prev = out.options[spec.name];
    if (spec.multiple) {
      out.options[spec.name] = [...((prev as string[] | undefined) ?? []), value as string];
    } else if (prev !== undefined) {
      throw new UsageError(`${written} given more than once`);
    } else {
      out.options[spec.name] = value;
    }
  };
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown option --${name}${suggest(name, specs)}`);
      take(spec, eq < 0 ? undefined : a.slice(eq + 1), `--${name}`);
    } else if (a.length === 2 && a.startsWith('-') && a[1] !== '-' && !/\d/.test(a[1])) {
      const spec = byShort.get(a[1]);
      if (!spec) throw new UsageError(`unknown option ${a}`);
      take(spec, undefined, a);
    } else {
      out.positionals.push(a);
    }
  }
  return out;
}

/** " (did you mean --x?)" when one known option is close to what was typed. */
function suggest(name: string, specs: readonly OptionSpec[]): string {
  let best: string | undefined;
  let bestDist = 3;
  for (const s of specs) {
    const d = distance(name, s.name);
    if (d < bestDist) {
      bestDist = d;
      best = s.name;
    }
  }
  return best ? ` (did you mean --${best}?)` : '';
}

/** Levenshtein distance, for typo suggestions. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/** The string value of an option, or undefined. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.options[name];
  return typeof v === 'string' ? v : undefined;
}

/** The values of a repeatable option (empty if none). */
export function list(p: Parsed, name: string): string[] {
  const v = p.options[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** Whether a boolean flag was given. */
export function flag(p: Parsed, name: string): boolean {
  return p.options[name] === true;
}

/** An integer option within [min, max], or undefined when absent. */
export function int(p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name} must be an integer ${min}-${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}
