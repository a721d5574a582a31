// The request bytes nft(8) sends, read from `nft --debug=mnl` inside a test
// namespace: for expressions the test kernel lacks (queue needs a module it
// does not have), nft still sends the rule and prints it before the kernel
// refuses it, so nlkit's encoding can be compared with nft's byte for byte.
import { spawnSync } from 'node:child_process';
import { Attributes, parseMessages } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { NFTA_RULE_EXPRESSIONS } from '../../lib/nftables/constants';
import { writeExpressionList, type Expression } from '../../lib/nftables/expressions/registry';

/** libmnl colours its dump (ESC [ ... m). */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** The NFT_MSG_NEWRULE payload nft sends for `nft add rule ARGS` (after the nfgenmsg header kept at its start). */
export function nftNewRuleRequest(netns: string, ...args: string[]): Buffer {
  return nftRequest(netns, 2566, ['add', 'rule', ...args]);
}

/**
 * The payload (nfgenmsg, then attributes) of the first message of `type` (subsystem << 8 | command) nft sends for `nft ARGS`;
 * `wrap` runs the command inside another (e.g. `unshare -m` with a file nft reads mounted).
 */
export function nftRequest(netns: string, type: number, args: string[], wrap: (argv: string[]) => string[] = (a) => a): Buffer {
  const [cmd, ...rest] = wrap(['ip', 'netns', 'exec', netns, 'nft', '--debug=mnl', ...args]);
  const r = spawnSync(cmd, rest, { encoding: 'utf8' });
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

/** The NFTA_RULE_EXPRESSIONS attribute of nft's NEWRULE request for `nft add rule ARGS`. */
export function nftRuleExpressionBytes(netns: string, ...args: string[]): Buffer | undefined {
  return new Attributes(nftNewRuleRequest(netns, ...args).subarray(4)).get(NFTA_RULE_EXPRESSIONS);
}

/** The NFTA_RULE_EXPRESSIONS attribute nlkit writes for these expressions. */
export function nlkitExpressionBytes(exprs: Expression[]): Buffer | undefined {
  const w = new NetlinkWriter();
  w.begin(0x10, 0);
  writeExpressionList(w, NFTA_RULE_EXPRESSIONS, exprs);
  return new Attributes(parseMessages(w.end().finish())[0].payload).get(NFTA_RULE_EXPRESSIONS);
}

/**
 * Netlink attributes as a comparable tree: nested attributes (NLA_F_NESTED)
 * become their children sorted by type, so two encodings compare equal when
 * they carry the same attributes with the same bytes in any order. A leaf's
 * trailing NUL is dropped: libnftnl sends some names without one, nlkit
 * always terminates strings, and the kernel reads both alike.
 */
export function attributeTree(b: Buffer): unknown[] {
  const out: Array<[number, unknown]> = [];
  for (let off = 0; off + 4 <= b.length;) {
    const len = b.readUInt16LE(off);
    const type = b.readUInt16LE(off + 2);
    const payload = b.subarray(off + 4, off + len);
    const nested = (type & 0x8000) !== 0;
    const leaf = payload.length && payload[payload.length - 1] === 0 && /^[\x20-\x7e]+\0$/.test(payload.toString('latin1')) ? payload.subarray(0, -1) : payload;
    out.push([type & 0x3fff, nested ? attributeTree(payload) : leaf.toString('hex')]);
    off += (len + 3) & ~3;
  }
  // Lists (NFTA_LIST_ELEM, all type 1) keep their order: sorting is stable.
  return out.sort((x, y) => x[0] - y[0]);
}
