/**
 * The `nlkit` command line: `demo`, `topology`, and the network commands
 * (`net create|ls|inspect|rm`, `attach`, `detach`, `publish`, `unpublish`,
 * `ls`, `publications`) over the networks API. Errors are one line on stderr;
 * exit code 2 for a wrong command line, 1 for a failed operation (or output
 * that could not be written; a reader that closed the pipe early is no failure).
 * Standard error that cannot be written (closed, full) changes nothing: the
 * messages are dropped and the exit code is the command's own.
 * @module
 */
import * as fs from 'node:fs';
import { networks, type NetworkManager, type NetworkManagerOptions } from '../network/manager';
import { networkRecords, type NetworkReader } from '../network/records';
import { flag, parseCommandLine, str, UsageError, type OptionSpec, type Parsed } from './args';
import { commandHelp, optionsOf, HELP_OPTION, HOST_OPTION, JSON_OPTION, STATE_DIR_OPTION, type Command, type Context, type Io } from './command';
import { runDemo } from './demo';
import { NET_COMMANDS, NETWORK_COMMANDS } from './net';
import { SERVICE_COMMANDS } from './services';
import { Progress, type ProgressStream } from './progress';
import { GuardedOutput } from './output';
import { parseNetnsRef } from './specs';
import { formatFromPath, gatherTopology, renderTopology, type TopologyFormat } from './topology';

/** Exit codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const demo: Command = {
  name: 'demo',
  usage: 'demo [--topology FILE]',
  summary: 'Build a container network in throw-away namespaces, serve HTTP across it, report, clean up.',
  options: [{ name: 'topology', value: 'FILE', help: 'also write its picture (.svg, .html, .dot, .mmd)' }],
  args: [0, 0],
  argNames: [],
  examples: ['nlkit demo', 'nlkit demo --topology demo.svg'],
  async run(ctx, p) {
    await runDemo((s) => ctx.say(s), { topologyFile: str(p, 'topology') });
  },
};

const topology: Command = {
  name: 'topology',
  usage: 'topology [--netns a,b,...] [--format mermaid|dot|svg|html|json] [--output FILE]',
  summary: 'Draw namespaces, links, bridges, veth pairs, addresses and routes.',
  options: [
    { name: 'netns', value: 'A,B,...', help: 'the namespaces to draw (default: every named namespace)' },
    { name: 'format', value: 'FORMAT', help: 'mermaid (default), dot, svg, html or json' },
    { name: 'output', value: 'FILE', help: 'write to FILE (format from its extension) instead of stdout' },
  ],
  args: [0, 0],
  argNames: [],
  examples: ['nlkit topology', 'nlkit topology --netns host,c1,c2 --output net.svg'],
  async run(ctx, p) {
    const file = str(p, 'output');
    const format = (str(p, 'format') ?? (file ? formatFromPath(file) : 'mermaid')) as TopologyFormat;
    if (!['mermaid', 'dot', 'svg', 'html', 'json'].includes(format))
      throw new UsageError(`--format must be mermaid, dot, svg, html or json, got ${JSON.stringify(format)}`);
    const netns = str(p, 'netns')?.split(',').filter(Boolean);
    const text = renderTopology(await gatherTopology({ netns }), format);
    if (file) fs.writeFileSync(file, text);
    else ctx.io.stdout.write(text);
  },
};

const COMMANDS: Command[] = [demo, topology, ...NET_COMMANDS, ...NETWORK_COMMANDS, ...SERVICE_COMMANDS];

function commandList(cmds: Command[]): string {
  const w = Math.max(...cmds.map((c) => c.name.length));
  return cmds.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n');
}

const HELP = `nlkit — Linux networking over netlink, from Node.js

Usage: nlkit COMMAND [ARGS] [OPTIONS]      (nlkit COMMAND --help for details)

Commands:
${commandList(COMMANDS)}

Network commands take:
  --host NETNS     the namespace playing the host: name, pid or /path. Default: the
                   current namespace, i.e. the real host — its bridges, forwarding
                   sysctls and nftables table "inet nlkit" are changed.
  --state-dir DIR  where networks are recorded (default /run/nlkit/<host>)
  --json           print the result as JSON on stdout

  nlkit --help     this text
  nlkit --version  the package version

Exit codes: 0 done, 1 the operation failed (one line on stderr; NLKIT_DEBUG=1 adds
the stack) or its output could not be written, 2 the command line is wrong. When
the reader of the output goes away (nlkit ls | head -1) the command still
finishes, quietly, with its own code; so it does when standard error cannot be
written (its messages are lost). Needs root (CAP_NET_ADMIN, and
CAP_SYS_ADMIN for named namespaces).`;

const NET_HELP = `Usage: nlkit net SUBCOMMAND ...      (nlkit net SUBCOMMAND --help for details)

Subcommands:
${commandList(NET_COMMANDS)}`;

const SERVICE_HELP = `Usage: nlkit service SUBCOMMAND ...      (nlkit service SUBCOMMAND --help for details)

Subcommands:
${commandList(SERVICE_COMMANDS)}`;

const GLOBAL_VALUED = new Set([HOST_OPTION, STATE_DIR_OPTION].map((o) => `--${o.name}`));

/** What may come with `nlkit --help` or `nlkit net --help`: the options every network command takes ("nlkit --host lab --help"). */
const GROUP_OPTIONS: OptionSpec[] = [HOST_OPTION, STATE_DIR_OPTION, JSON_OPTION, HELP_OPTION];

/**
 * Whether `rest` asks for a help text with nothing but global options around it
 * (`nlkit --host lab --help`); a {@link UsageError} for anything else in it
 * that is not an option of {@link GROUP_OPTIONS} or is malformed.
 */
function helpWithGlobals(rest: string[]): boolean {
  const p = parseCommandLine(rest, GROUP_OPTIONS);
  if (p.positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
  return flag(p, HELP_OPTION.name);
}

/**
 * Splits argv into the command words and the rest: options may come before
 * the command ("nlkit --host lab net ls") as well as after it.
 */
function locate(argv: string[]): { words: string[]; rest: string[] } {
  const rest: string[] = [];
  const words: string[] = [];
  let i = 0;
  // "net" takes a subcommand; "help" takes the command it explains.
  const wanted = () => {
    const off = words[0] === 'help' ? 1 : 0;
    return off + (words[off] === 'net' || words[off] === 'service' ? 2 : 1);
  };
  while (i < argv.length && words.length < wanted()) {
    const a = argv[i];
    if (a === '--') break;
    if (a.startsWith('-')) {
      rest.push(a);
      if (GLOBAL_VALUED.has(a) && i + 1 < argv.length) rest.push(argv[++i]);
    } else {
      words.push(a);
    }
    i++;
  }
  return { words, rest: [...rest, ...argv.slice(i)] };
}

function defaultIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** One line: newlines folded, so an error is always exactly one line. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Runs `nlkit ARGV`; resolves to the exit code. Output goes through a
 * {@link GuardedOutput}: when stdout is closed early (`nlkit net ls | head -1`,
 * EPIPE) the rest of the output is dropped, the command still finishes, and
 * the exit code is the command's own; any other write error (ENOSPC) is one
 * line on stderr and exit code 1. Write errors on stderr are dropped and
 * change no exit code.
 * @example
 * process.exitCode = await main(['net', 'ls']);
 */
export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const stdout = GuardedOutput.of(io.stdout);
  // Standard error is guarded too (a closed one was an uncaught EPIPE: a stack trace nobody sees, exit code 1):
  // its write errors are dropped, with nowhere left to report them, and change no exit code.
  const guardedErr = GuardedOutput.of(io.stderr);
  const real = io.stderr;
  const stderr: ProgressStream = {
    write: (s) => guardedErr.write(s),
    get isTTY() {
      return real.isTTY;
    },
    get columns() {
      return real.columns;
    },
  };
  const code = await run(argv, { ...io, stdout, stderr });
  await stdout.flushed();
  const e = stdout.error;
  if (!e || e.code === 'EPIPE') return code;
  stderr.write(`nlkit: cannot write to standard output: ${oneLine(e.message)}\n`);
  return code === EXIT.ok ? EXIT.failed : code;
}

async function run(argv: string[], io: Io): Promise<number> {
  const { words, rest } = locate(argv);
  const out = (s: string) => void io.stdout.write(s.endsWith('\n') ? s : s + '\n');
  const fail = (code: number, msg: string, e?: unknown) => {
    io.stderr.write(`nlkit: ${oneLine(msg)}\n`);
    if (e instanceof Error && io.env.NLKIT_DEBUG === '1' && e.stack) io.stderr.write(`${e.stack}\n`);
    return code;
  };

  if (words.length === 0 || words[0] === 'help') {
    if (rest.includes('--version') || rest.includes('-v')) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json is outside rootDir (lib/), so it cannot be imported
      out((require('../../package.json') as { version: string }).version);
      return EXIT.ok;
    }
    if (words.length === 0 && rest.length) {
      // "nlkit --host lab --help": global options do not stop the help; without --help there is no command.
      try {
        if (!helpWithGlobals(rest)) return fail(EXIT.usage, `missing COMMAND (see nlkit --help)`);
      } catch (e) {
        if (e instanceof UsageError) return fail(EXIT.usage, `${e.message} (see nlkit --help)`);
        throw e;
      }
    }
    if (words[0] === 'help' && words[1]) return run([...words.slice(1), '--help'], io);
    out(HELP);
    return EXIT.ok;
  }
  let name = words[0];
  if (name === 'service' && words.length < 2) {
    out(SERVICE_HELP);
    return EXIT.ok;
  }
  if (name === 'service') name = `service ${words[1]}`;
  if (name === 'net') {
    if (words.length < 2) {
      // "nlkit --host lab net --help" is the group's help; anything else without a subcommand is not.
      let help: boolean;
      try {
        help = helpWithGlobals(rest);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        help = false;
      }
      if (rest.length && !help) return fail(EXIT.usage, `net: missing SUBCOMMAND (see nlkit net --help)`);
      out(NET_HELP);
      return EXIT.ok;
    }
    name = `net ${words[1]}`;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    return fail(
      EXIT.usage,
      `unknown command ${JSON.stringify(name.startsWith('net ') ? words[1] : name)}${name.startsWith('net ') ? ' for net' : ''} (see nlkit ${name.startsWith('net ') ? 'net ' : ''}--help)`,
    );
  }

  let parsed: Parsed;
  try {
    parsed = parseCommandLine(rest, optionsOf(cmd));
    if (flag(parsed, HELP_OPTION.name)) {
      out(commandHelp(cmd));
      return EXIT.ok;
    }
    const n = parsed.positionals.length;
    if (n < cmd.args[0]) throw new UsageError(`missing ${cmd.argNames[Math.min(n, cmd.argNames.length - 1)]}`);
    if (n > cmd.args[1]) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[cmd.args[1]])}`);
  } catch (e) {
    if (e instanceof UsageError) return fail(EXIT.usage, `${cmd.name}: ${e.message} (see nlkit ${cmd.name} --help)`);
    throw e;
  }

  let manager: NetworkManager | undefined;
  let records: NetworkReader | undefined;
  const json = flag(parsed, JSON_OPTION.name);
  let progress: Progress | undefined;
  const hostOptions = (): NetworkManagerOptions => {
    const hostArg = str(parsed, HOST_OPTION.name);
    return { host: hostArg === undefined ? undefined : parseNetnsRef(hostArg, '--host'), stateDir: str(parsed, STATE_DIR_OPTION.name) };
  };
  const ctx: Context = {
    io,
    json,
    say: out,
    emit: (v) => out(JSON.stringify(v, null, 2)),
    manager: async () => (manager ??= await networks(hostOptions())),
    records: () => (records ??= networkRecords(hostOptions())),
    progress: () => (progress ??= new Progress(io.stderr, !json && io.stderr.isTTY === true)),
  };
  try {
    await cmd.run(ctx, parsed);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof UsageError) return fail(EXIT.usage, `${cmd.name}: ${e.message} (see nlkit ${cmd.name} --help)`);
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return fail(EXIT.failed, `${cmd.name} failed: ${what}`, e);
  } finally {
    progress?.clear();
    manager?.close();
  }
}
