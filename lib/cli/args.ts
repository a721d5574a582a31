/**
 * A tiny argv parser: positionals, `--key value`, `--key=value` and boolean
 * `--flag`s, with unknown options refused so typos are not silently ignored.
 * @module
 */
import { ValidationError } from '../netlink/errors';

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | true>;
}

/** `valued` lists the options that take a value; `flags` the boolean ones. */
export function parseArgs(argv: string[], valued: string[], flags: string[] = []): ParsedArgs {
  const out: ParsedArgs = { positionals: [], options: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = a.slice(2, eq < 0 ? undefined : eq);
    if (flags.includes(key)) {
      out.options[key] = true;
    } else if (valued.includes(key)) {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new ValidationError(`--${key}`, undefined, 'needs a value');
      out.options[key] = v;
    } else {
      throw new ValidationError('option', a, `unknown; expected one of ${[...valued, ...flags].map((k) => '--' + k).join(', ')}`);
    }
  }
  return out;
}
