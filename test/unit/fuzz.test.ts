// The fuzz target: messages the real kernel sent (test/fuzz/corpus, captured by
// scripts/capture-fuzz-corpus.mjs), mutated a few hundred thousand times and
// fed to every decoder nlkit has. Whatever the input, a decoder returns or
// throws one of nlkit's typed errors (DecodeError, in practice): never a
// TypeError, RangeError, a ValidationError meant for caller input, or
// anything else; and it never hangs.
//
//   NLKIT_FUZZ_SEED=<n>        seed (default below; printed with any finding)
//   NLKIT_FUZZ_ITERATIONS=<n>  mutations (default below)
//   NLKIT_FUZZ_START=<n>       first iteration (to replay one input: START=i ITERATIONS=1)
// See test/fuzz/README.md for recapturing the corpus and longer campaigns.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NlkitError, ValidationError } from '../../lib/netlink/errors';
import { parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { decodeErrorMessage } from '../../lib/netlink/extack';
import { describeErrorOffset } from '../../lib/nftables/error-location';
import { writeNewChain } from '../../lib/nftables/chain';
import { writeNewRule } from '../../lib/nftables/rule';
import { writeNewSet } from '../../lib/nftables/set';
import { writeNewTable } from '../../lib/nftables/table';
import { Random, attributesStart, mutate } from '../fuzz/mutator';
import { Shapes, decoders, type Decoder, type Protocol } from '../fuzz/targets';

const DEFAULT_SEED = 0x6e6c6b74;
// About 30 s on the 2-core CI machine while other test files run beside it.
const DEFAULT_ITERATIONS = 1_600_000;

function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

const SEED = envNumber('NLKIT_FUZZ_SEED', DEFAULT_SEED);
const ITERATIONS = envNumber('NLKIT_FUZZ_ITERATIONS', DEFAULT_ITERATIONS);
const START = envNumber('NLKIT_FUZZ_START', 0);

interface Seed {
  protocol: Protocol;
  file: string;
  /** The whole message, header included. */
  bytes: Buffer;
  /** Where its attributes start after the header. */
  start: number;
}

const CORPUS_DIR = path.join(__dirname, '..', 'fuzz', 'corpus');

function whole(m: NetlinkMessage): Buffer {
  return Buffer.from(Buffer.from(m.payload.buffer, m.payload.byteOffset - 16, m.payload.length + 16));
}

function loadCorpus(): Map<string, Seed[]> {
  const files = new Map<string, Seed[]>();
  for (const f of fs
    .readdirSync(CORPUS_DIR)
    .filter((x) => x.endsWith('.bin'))
    .sort()) {
    const protocol = f.split('-')[0] as Protocol;
    if (protocol !== 'route' && protocol !== 'netfilter') throw new Error(`corpus file ${f}: name must start with route- or netfilter-`);
    const seeds = parseMessages(fs.readFileSync(path.join(CORPUS_DIR, f))).map((m) => ({
      protocol,
      file: f,
      bytes: whole(m),
      start: attributesStart(protocol, m.type, m.flags, m.payload),
    }));
    files.set(f, seeds);
  }
  return files;
}

/** A batch as a transaction writes it, for the offsets nf_tables reports errors at. */
function sampleBatch(): { buffer: Buffer; offsets: number[] } {
  const w = new NetlinkWriter();
  const f = 'inet' as const;
  writeNewTable(w, { family: f, name: 't', comment: 'c' }, 0);
  writeNewChain(w, { family: f, table: 't', name: 'c', type: 'filter', hook: 'input', priority: 0, policy: 'drop' }, 0);
  writeNewSet(w, { family: f, table: 't', name: 's', keyType: ['ipv4_addr', 'inet_service'], flags: ['interval'] }, 0, 1);
  writeNewRule(
    w,
    {
      family: f,
      table: 't',
      chain: 'c',
      expressions: [
        { type: 'meta', key: 'l4proto', dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([6]) },
        { type: 'lookup', set: 's', sreg: 1 },
        { type: 'immediate', dreg: 0, verdict: { code: 'jump', chain: 'x' } },
      ],
    },
    { append: true },
    0,
  );
  return { buffer: w.finish(), offsets: [...w.messageOffsets] };
}

interface Finding {
  decoders: Set<string>;
  error: string;
  iteration: number;
  mutations: string[];
  input: string;
  stack: string;
}

describe('fuzz: every decoder on mutated kernel messages', () => {
  it(`throws only typed errors (${ITERATIONS} mutations, seed ${SEED})`, { timeout: Math.max(120_000, ITERATIONS) }, () => {
    const corpus = loadCorpus();
    const files = [...corpus.keys()];
    expect(files.length).toBeGreaterThan(10);
    const byProtocol: Record<Protocol, Seed[]> = { route: [], netfilter: [] };
    for (const seeds of corpus.values()) for (const s of seeds) byProtocol[s.protocol].push(s);
    const typesOf = (p: Protocol) => [...new Set(byProtocol[p].map((s) => s.bytes.readUInt16LE(4)))];
    const types: Record<Protocol, number[]> = { route: typesOf('route'), netfilter: typesOf('netfilter') };

    // The corpus itself decodes without any error at all, and teaches the set layouts.
    const shapes = new Shapes();
    for (const s of byProtocol.netfilter) {
      const m = parseMessages(s.bytes)[0];
      if (m.type === ((10 << 8) | 9)) shapes.learn(m);
    }
    const targets = decoders(shapes);
    for (const [file, seeds] of corpus) {
      for (const s of seeds) {
        const m = parseMessages(s.bytes)[0];
        for (const [name, decode] of targets[s.protocol].byType[m.type] ?? []) {
          const reply = decode(m) as { errno?: number } | undefined;
          if (name.startsWith('extack')) expect(reply?.errno, `${file}: an errno`).toBeGreaterThanOrEqual(0);
        }
      }
    }
    const batch = sampleBatch();

    const findings = new Map<string, Finding>();
    const thrownTyped = new Map<string, number>();
    let decodes = 0;
    const check = (decoder: string, fn: () => unknown, iteration: number, mutations: string[], input: Buffer) => {
      decodes++;
      try {
        fn();
      } catch (e) {
        // A decoder never refuses input as if the caller had given it: ValidationError is a finding too.
        if (e instanceof NlkitError && !(e instanceof ValidationError)) {
          const k = process.env.NLKIT_FUZZ_DEBUG ? `${e.name} [${decoder}: ${e.message.slice(0, 60)}]` : e.name;
          thrownTyped.set(k, (thrownTyped.get(k) ?? 0) + 1);
          return;
        }
        const err = e as Error;
        const where =
          String(err?.stack ?? '')
            .split('\n')
            .find((l) => l.includes('/lib/')) ?? '';
        // One finding per error and place in lib/, whichever decoders reached it.
        const key = `${err?.name}: ${String(err?.message).slice(0, 80)} ${where.trim()}`;
        const known = findings.get(key);
        if (known) known.decoders.add(decoder);
        else
          findings.set(key, {
            decoders: new Set([decoder]),
            error: `${err?.name}: ${err?.message}`,
            iteration,
            mutations,
            input: input.toString('hex'),
            stack: String(err?.stack),
          });
      }
    };

    const started = performance.now();
    for (let i = START; i < START + ITERATIONS; i++) {
      const rnd = new Random(SEED, i);
      const seeds = corpus.get(rnd.pick(files))!;
      const seed = rnd.pick(seeds);
      const donor = rnd.pick(byProtocol[seed.protocol]);
      const { bytes, applied } = mutate(rnd, seed.bytes, seed.start, { msg: donor.bytes, start: donor.start }, types[seed.protocol]);
      // The parser: the mutated message alone, and after another message in the same datagram.
      let msgs: NetlinkMessage[] = [];
      check('parser', () => (msgs = parseMessages(bytes)), i, applied, bytes);
      if (rnd.chance(0.1)) check('parser (datagram)', () => parseMessages(Buffer.concat([rnd.pick(seeds).bytes, bytes])), i, applied, bytes);
      const target = targets[seed.protocol];
      for (const m of msgs) {
        const own: Decoder[] = target.byType[m.type] ?? [];
        for (const [name, decode] of own) check(name, () => decode(m), i, applied, bytes);
        // A decoder meant for another message type: type confusion must fail cleanly too.
        const [name, decode] = rnd.pick(target.pool);
        check(`${name} (wrong type)`, () => decode(m), i, applied, bytes);
        // nf_tables points at the offending attribute of our batch with an offset from its error reply.
        if (seed.protocol === 'netfilter' && m.type === 2) {
          const offset = decodeErrorMessage(m).extackOffset;
          if (offset !== undefined) check('nft error location', () => describeErrorOffset(batch.buffer, rnd.pick(batch.offsets), offset), i, applied, bytes);
        }
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const typed = [...thrownTyped].map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    console.log(
      `fuzz: ${ITERATIONS} mutations (iterations ${START}-${START + ITERATIONS - 1}), ${decodes} decodes in ${seconds.toFixed(1)} s, seed ${SEED}; typed errors: ${typed}; findings: ${findings.size}`,
    );

    const report = [...findings.values()].map(
      (f) =>
        `- ${f.error} (${[...f.decoders].join(', ')})\n  replay: NLKIT_FUZZ_SEED=${SEED} NLKIT_FUZZ_START=${f.iteration} NLKIT_FUZZ_ITERATIONS=1 (mutations ${f.mutations.join(', ')})\n  input: ${f.input}\n  ${f.stack.split('\n').slice(1, 4).join('\n  ')}`,
    );
    expect(report, `untyped errors escaped decoders (seed ${SEED}):\n${report.join('\n')}`).toEqual([]);
  });
});
