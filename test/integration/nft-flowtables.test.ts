// Flowtables (h.nft.flowtables, tx.addFlowtable/deleteFlowtable) and the
// flow_offload expression (`flow add @ft`). The test kernel has no flowtable
// support (it refuses NEWFLOWTABLE with ENOENT, for nft as for nlkit), so the
// encoding is tested against what nft sends for the same commands, captured
// from `nft --debug=mnl` in a test namespace (nft prints each message before
// the kernel refuses it): nlkit's message must have the same bytes, and the
// decoder must read nft's bytes back into the object written. Listing is
// tested against the kernel as far as it goes (no flowtables here).
import { describe, expect, it } from 'vitest';
import { NftCommandError, NotFoundError, ValidationError, describeNftRule } from '../../lib';
import { Attributes, parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NFTA_RULE_EXPRESSIONS } from '../../lib/nftables/constants';
import { readExpressionList, type Expression } from '../../lib/nftables/expressions/registry';
import { decodeFlowtable, type Flowtable, type FlowtableRef } from '../../lib/nftables/flowtable';
import { Transaction } from '../../lib/nftables/transaction';
import { nftLoad } from '../helpers/nft';
import { nftNewRuleRequest, nftRequest } from '../helpers/nft-request';
import { ip, useNetns } from '../helpers/netns';

const NFNL_SUBSYS_NFTABLES = 10;
const NEWFLOWTABLE = (NFNL_SUBSYS_NFTABLES << 8) | 22;
const DELFLOWTABLE = (NFNL_SUBSYS_NFTABLES << 8) | 24;
const DESTROYFLOWTABLE = (NFNL_SUBSYS_NFTABLES << 8) | 32;

/** The payload (nfgenmsg and attributes) of nlkit's first message of `type` in a transaction's batch. */
function nlkitPayload(tx: Transaction, type: number): Buffer {
  const m = parseMessages(tx.encode()).find((x) => x.type === type);
  if (!m) throw new Error(`no message of type ${type} in the batch`);
  return m.payload;
}

/** nft's payload as a message, for the decoder. */
function asMessage(type: number, payload: Buffer): NetlinkMessage {
  const header = Buffer.alloc(16);
  header.writeUInt32LE(16 + payload.length, 0);
  header.writeUInt16LE(type, 4);
  return parseMessages(Buffer.concat([header, payload]))[0];
}

/** [nft command, the flowtable nlkit adds for it, what decoding nft's bytes gives]. */
const ADD_CASES: Array<[string, Flowtable, Flowtable]> = [
  [
    'add flowtable inet t ft { hook ingress priority 0; devices = { d0, d1 }; counter; }',
    // nft sends the devices in this order
    { family: 'inet', table: 't', name: 'ft', hook: 'ingress', priority: 0, devices: ['d1', 'd0'], flags: ['counter'] },
    { family: 'inet', table: 't', name: 'ft', hook: 'ingress', priority: 0, devices: ['d1', 'd0'], flags: ['counter'] },
  ],
  [
    'add flowtable ip t ft2 { hook ingress priority filter - 10; devices = { d0 }; }',
    { family: 'ip', table: 't', name: 'ft2', priority: 'filter - 10', devices: ['d0'] },
    { family: 'ip', table: 't', name: 'ft2', hook: 'ingress', priority: -10, devices: ['d0'] },
  ],
  [
    'add flowtable inet t ft3 { hook ingress priority 5; devices = { d0 }; flags offload; counter; }',
    { family: 'inet', table: 't', name: 'ft3', priority: 5, devices: ['d0'], flags: ['offload', 'counter'] },
    { family: 'inet', table: 't', name: 'ft3', hook: 'ingress', priority: 5, devices: ['d0'], flags: ['offload', 'counter'] },
  ],
];

/** [nft command, nlkit's delete, its options, the message type]. */
const DELETE_CASES: Array<[string, FlowtableRef, Record<string, never>, number]> = [
  ['delete flowtable inet t ft', { family: 'inet', table: 't', name: 'ft' }, {}, DELFLOWTABLE],
  ['delete flowtable inet t handle 7', { family: 'inet', table: 't', handle: 7 }, {}, DELFLOWTABLE],
];

describe('nftables flowtables (encoding compared with nft: the test kernel has no flowtable support)', () => {
  const box = useNetns('ft');

  it('adds a flowtable with the bytes nft sends, and decodes nft bytes into the same flowtable', () => {
    const ns = box.ns('ft');
    ip(ns, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
    nftLoad(ns, 'table inet t {}\ntable ip t {}\n');
    for (const [command, flowtable, decoded] of ADD_CASES) {
      const theirs = nftRequest(ns, NEWFLOWTABLE, command.split(' '));
      const tx = new Transaction();
      tx.addFlowtable(flowtable);
      expect(nlkitPayload(tx, NEWFLOWTABLE).toString('hex'), command).toBe(theirs.toString('hex'));
      expect(decodeFlowtable(asMessage(NEWFLOWTABLE, theirs)), command).toEqual(decoded);
    }
    // Header flags as nft's (strace: NLM_F_REQUEST|NLM_F_CREATE; `nft create` adds NLM_F_EXCL).
    const NLM_F_CREATE = 0x400;
    const NLM_F_EXCL = 0x200;
    const tx = new Transaction();
    tx.addFlowtable(ADD_CASES[1][1]);
    tx.addFlowtable(ADD_CASES[1][1], { exclusive: true });
    expect(
      parseMessages(tx.encode())
        .filter((m) => m.type === NEWFLOWTABLE)
        .map((m) => m.flags & (NLM_F_CREATE | NLM_F_EXCL)),
    ).toEqual([NLM_F_CREATE, NLM_F_CREATE | NLM_F_EXCL]);
  });

  it('deletes (by name, by handle, destroy) with the bytes nft sends', () => {
    const ns = box.ns('ft');
    for (const [command, ref, opts, type] of DELETE_CASES) {
      const theirs = nftRequest(ns, type, command.split(' '));
      const tx = new Transaction();
      tx.deleteFlowtable(ref, opts);
      expect(nlkitPayload(tx, type).toString('hex'), command).toBe(theirs.toString('hex'));
      // nft 1.0.6 has no `destroy`: with missingOk nlkit sends the same as NFT_MSG_DESTROYFLOWTABLE
      const destroy = new Transaction();
      destroy.deleteFlowtable(ref, { missingOk: true });
      expect(nlkitPayload(destroy, DESTROYFLOWTABLE).toString('hex'), command).toBe(theirs.toString('hex'));
    }
  });

  it('flow add @ft: decodes what nft sends, encodes the same bytes, describes it as nft', () => {
    const ns = box.ns('ft');
    nftLoad(ns, 'table inet t {\n chain fw { type filter hook forward priority filter; }\n}\n');
    const cases: Array<[string, Expression[], string]> = [
      ['flow add @ft', [{ type: 'flow_offload', flowtable: 'ft' }], 'flow add @ft'],
      [
        'meta l4proto tcp flow add @ft',
        [
          { type: 'meta', key: 'l4proto', dreg: 1 },
          { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([6]) },
          { type: 'flow_offload', flowtable: 'ft' },
        ],
        'meta l4proto tcp flow add @ft',
      ],
    ];
    for (const [text, expected, described] of cases) {
      const request = nftNewRuleRequest(ns, 'inet', 't', 'fw', ...text.split(' '));
      const fromNft = new Attributes(request.subarray(4)).get(NFTA_RULE_EXPRESSIONS);
      const decoded = readExpressionList(fromNft);
      expect(decoded, text).toEqual(expected);
      const tx = new Transaction();
      tx.addRule({ family: 'inet', table: 't', chain: 'fw', expressions: expected });
      // The flow_offload element, byte for byte (the last of the list).
      const lastElement = (list: Buffer | undefined) => new Attributes(list ?? Buffer.alloc(0)).list.at(-1)?.data;
      const ours = new Attributes(nlkitPayload(tx, (NFNL_SUBSYS_NFTABLES << 8) | 6), 4).get(NFTA_RULE_EXPRESSIONS);
      expect(lastElement(ours), text).toEqual(lastElement(fromNft));
      expect(describeNftRule({ expressions: decoded, family: 'inet' }), text).toBe(described);
    }
  });

  it('the kernel here refuses a flowtable as it refuses nft, naming the command; listing finds none', async () => {
    const h = box.h('ft');
    const tx = h.nft.transaction();
    tx.addFlowtable(ADD_CASES[0][1]);
    const err: unknown = await tx.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NftCommandError);
    expect(String(err)).toContain('add flowtable inet t ft');
    expect(await h.nft.flowtables.list()).toEqual([]);
    expect(await h.nft.flowtables.list({ family: 'inet', table: 't' })).toEqual([]);
    expect(await h.nft.flowtables.find({ family: 'inet', table: 't', name: 'ft' })).toBeUndefined();
    await expect(h.nft.flowtables.get({ family: 'inet', table: 't', name: 'ft' })).rejects.toThrow(NotFoundError);
  });

  it('refuses bad flowtables before sending (ValidationError naming the field)', async () => {
    const tx = new Transaction();
    const base: Flowtable = { family: 'inet', table: 't', name: 'ft', devices: ['d0'] };
    const bad: Array<[() => unknown, string]> = [
      [() => tx.addFlowtable({ ...base, name: '' }), 'flowtable name'],
      [() => tx.addFlowtable({ ...base, hook: 'egress' as never }), 'hook'],
      [() => tx.addFlowtable({ ...base, priority: 'mangle + x' }), 'priority'],
      [() => tx.addFlowtable({ ...base, devices: ['a'.repeat(16)] }), 'devices[0]'],
      [() => tx.addFlowtable({ ...base, devices: 'd0' as never }), 'devices'],
      [() => tx.addFlowtable({ ...base, flags: ['fast'] }), 'flowtable flag'],
      [() => tx.addFlowtable({ ...base, device: 'd0' } as never), 'flowtable'],
      [() => tx.deleteFlowtable({ family: 'inet', table: 't', handle: -1 }), 'handle'],
      [() => tx.addRule({ family: 'inet', table: 't', chain: 'fw', expressions: [{ type: 'flow_offload', flowtable: '' }] }), 'flowtable'],
    ];
    for (const [call, field] of bad) {
      let caught: unknown;
      try {
        call();
      } catch (e) {
        caught = e;
      }
      expect(caught, field).toBeInstanceOf(ValidationError);
      expect(String(caught), field).toContain(field);
    }
    expect(tx.size).toBe(0);
    await expect(box.h('ft').nft.flowtables.list({ chain: 'x' } as never)).rejects.toThrow(ValidationError);
  });
});
