// The request bytes nft(8) sends, read from `nft --debug=mnl` inside a test
// namespace: for expressions the test kernel lacks (queue needs a module it
// does not have), nft still sends the rule and prints it before the kernel
// refuses it, so nlkit's encoding can be compared with nft's byte for byte.
import { spawnSync } from 'node:child_process';

/** libmnl colours its dump (ESC [ ... m). */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** The NFT_MSG_NEWRULE payload nft sends for `nft add rule ARGS` (after the nfgenmsg header kept at its start). */
export function nftNewRuleRequest(netns: string, ...args: string[]): Buffer {
  return nftRequest(netns, 2566, ['add', 'rule', ...args]);
}

/** The payload (nfgenmsg, then attributes) of the first message of `type` (subsystem << 8 | command) nft sends for `nft ARGS`. */
export function nftRequest(netns: string, type: number, args: string[]): Buffer {
  const r = spawnSync('ip', ['netns', 'exec', netns, 'nft', '--debug=mnl', ...args], { encoding: 'utf8' });
  const lines = r.stdout.replace(ANSI_COLOUR, '').split('\n');
  const NEWRULE = type;
  let inRule = false;
  let started = false;
  const bytes: number[] = [];
  for (const line of lines) {
    const type = /^\| (\d{5}) \| [A-Z-]{4} \|/.exec(line);
    if (type) {
      inRule = Number(type[1]) === NEWRULE;
      started = false;
      continue;
    }
    if (!inRule) continue;
    if (line.startsWith('----------------') && started) break;
    const attr = /^\|(\d{5})\|([N-])([B-])\|(\d{5})\|/.exec(line);
    const data = /^\| ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) {2}\|/.exec(line);
    if (attr) {
      const len = Number(attr[1]);
      const t = Number(attr[4]) | (attr[2] === 'N' ? 0x8000 : 0) | (attr[3] === 'B' ? 0x4000 : 0);
      bytes.push(len & 0xff, len >> 8, t & 0xff, t >> 8);
    } else if (data) {
      started = true;
      bytes.push(...data.slice(1, 5).map((h) => parseInt(h, 16)));
    }
  }
  if (bytes.length === 0) throw new Error(`no message of type ${type} in nft's output: ${r.stdout.slice(0, 500)} ${r.stderr}`);
  return Buffer.from(bytes);
}
