// SCTP with real packets on a kernel that has SCTP conntrack and NAT but no
// SCTP sockets: hand-built INIT chunks (with their CRC32c) sent and seen
// through raw sockets (test/helpers/sctp-probe.py).
import { execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { promisify } from 'node:util';

const PROBE = path.join(__dirname, 'sctp-probe.py');
const execFileAsync = promisify(execFile);

/** An INIT as the receiving namespace saw it. */
export interface SeenInit {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  vtag: number;
  /** The initiate tag: which INIT it is. */
  tag: number;
  /** Whether its CRC32c checksum is right (NAT rewrote the ports and the checksum with them). */
  crcOk: boolean;
}

/**
 * Sends one INIT from `client` to dst:dport while `server` listens: what
 * `server` received (or `timeout`) and the ICMP error `client` got back (or null).
 */
export async function sctpInit(
  client: string,
  server: string,
  dst: string,
  dport: number,
  opts: { sport?: number; tag?: number; timeoutSeconds?: number } = {},
): Promise<{ seen: SeenInit | { timeout: true }; icmp: { type: number; code: number } | null }> {
  const timeout = String(opts.timeoutSeconds ?? 2);
  const receiver = spawn('ip', ['netns', 'exec', server, 'python3', PROBE, 'recv', timeout], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: receiver.stdout })[Symbol.asyncIterator]();
  if ((await lines.next()).value !== 'ready') throw new Error('sctp-probe recv did not start');
  const sport = opts.sport ?? 40000 + Math.floor(Math.random() * 20000);
  const tag = opts.tag ?? 1 + Math.floor(Math.random() * 0xfffffffe);
  const sent = await execFileAsync('ip', ['netns', 'exec', client, 'python3', PROBE, 'send', dst, String(dport), String(sport), String(tag), timeout]);
  const seen = JSON.parse(String((await lines.next()).value)) as SeenInit | { timeout: true };
  return { seen, icmp: (JSON.parse(sent.stdout) as { icmp: { type: number; code: number } | null }).icmp };
}
