/**
 * What a CLI command is (name, usage, options, examples, and what it runs),
 * the context it runs in, and how its --help is rendered.
 * @module
 */
import type { NetworkManager } from '../network/manager';
import type { NetworkReader } from '../network/records';
import type { OptionSpec, Parsed } from './args';
import type { OutputStream } from './output';
import type { Progress, ProgressStream } from './progress';

/** The process streams, injectable for tests. */
export interface Io {
  /** Standard output; a Node stream's write errors (EPIPE, ENOSPC) are handled by main(), see lib/cli/output.ts. */
  stdout: OutputStream;
  /** Standard error: messages and progress; its write errors are dropped by main() and change no exit code. */
  stderr: ProgressStream & OutputStream;
  env: Record<string, string | undefined>;
}

/** Everything a command gets besides its own arguments. */
export interface Context {
  io: Io;
  /** --json was given: print one JSON document on stdout, no progress. */
  json: boolean;
  /** Prints a line (human mode) on stdout. */
  say(line: string): void;
  /** Prints a value as JSON on stdout. */
  emit(value: unknown): void;
  /** The network manager for --host / --state-dir, opened on first use and closed after the command. */
  manager(): Promise<NetworkManager>;
  /**
   * What is recorded for --host / --state-dir, read without a netlink socket: for the commands that only
   * list (the manager opens a socket in the host namespace, on a worker thread, that a listing never uses).
   */
  records(): NetworkReader;
  /** A progress line on stderr (a no-op unless stderr is a terminal and not --json). */
  progress(): Progress;
}

export interface Command {
  /** "net create", "attach". */
  name: string;
  /** Everything after "nlkit ": "net create NAME --subnet CIDR [options]". */
  usage: string;
  /** One line for the command list. */
  summary: string;
  /** A paragraph or two for --help. */
  description?: string;
  options: OptionSpec[];
  /** How many positionals: [min, max] (max may be Infinity). */
  args: [number, number];
  /** Names of the positionals, for "missing NAME" messages. */
  argNames: string[];
  /** Shell lines, each optionally followed by "  # comment". */
  examples: string[];
  /** Takes --host, --state-dir and --json (the network commands). */
  network?: boolean;
  run(ctx: Context, p: Parsed): Promise<void>;
}

export const HOST_OPTION: OptionSpec = {
  name: 'host',
  value: 'NETNS',
  help: 'the namespace playing the host (name, pid or /path); default: the current one — the real host',
};
export const STATE_DIR_OPTION: OptionSpec = { name: 'state-dir', value: 'DIR', help: 'where networks are recorded (default /run/nlkit/<host>)' };
export const JSON_OPTION: OptionSpec = { name: 'json', help: 'print the result as JSON' };
export const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', help: 'show this help' };

/** The options a command accepts, its own first, then the global ones. */
export function optionsOf(cmd: Command): OptionSpec[] {
  return [...cmd.options, ...(cmd.network ? [HOST_OPTION, STATE_DIR_OPTION, JSON_OPTION] : []), HELP_OPTION];
}

function optionLines(opts: OptionSpec[]): string[] {
  const left = opts.map((o) => `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.value}` : ''}`);
  const w = Math.max(...left.map((l) => l.length));
  return opts.map((o, i) => `  ${left[i].padEnd(w)}  ${o.help ?? ''}${o.multiple ? ' (repeatable)' : ''}`.trimEnd());
}

/** The --help text of one command. */
export function commandHelp(cmd: Command): string {
  const out = [`Usage: nlkit ${cmd.usage}`, '', cmd.summary];
  if (cmd.description) out.push('', cmd.description);
  if (cmd.options.length) out.push('', 'Options:', ...optionLines(cmd.options));
  const globals = optionLines(cmd.network ? [HOST_OPTION, STATE_DIR_OPTION, JSON_OPTION, HELP_OPTION] : [HELP_OPTION]);
  out.push('', 'Global options:', ...globals);
  if (cmd.examples.length) out.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`));
  return out.join('\n');
}
