/**
 * Transactions: any number of nftables commands committed in one kernel
 * batch (NFNL_MSG_BATCH_BEGIN ... END), all or nothing.
 *
 * - A failure names the failing command (index and description) with the
 *   kernel's errno and extended-ack message; nothing is applied.
 * - `expectGeneration` makes the commit conditional on the ruleset not
 *   having changed (NFNL_BATCH_GENID); otherwise GenerationMismatchError.
 * - Kernel-assigned handles come back through NLM_F_ECHO; echoes are only
 *   requested while they fit the receive buffer, so a 100,000-rule commit
 *   does not overflow it (its rules then come back without handles).
 *
 * The option and result types are in transaction-options.ts, echo
 * selection and result collection in commit-echo.ts.
 *
 * Long file: it is one class, the command queue and its encoding into one
 * batch; what could be split off (options, echo handling) already is.
 * @module
 */
import { NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL } from '../netlink/constants';
import { ERESTART } from '../netlink/errno';
import { NetlinkError, NotFoundError, ValidationError, type DeleteOptions } from '../netlink/errors';
import { NFNL_SUBSYS_NFTABLES, writeBatchBegin, writeBatchEnd } from '../netlink/nfnetlink';
import { batch, type Operation } from '../netlink/operation';
import type { NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { validateNftName } from '../validate/names';
import { isObject, rejectUnknownKeys } from '../validate/options';
import { recreateAnonymousSets } from './anonymous-sets';
import type { BuiltRule, IdAllocator } from './builder/context';
import { describeChain, writeDeleteChain, writeNewChain, type Chain, type ChainRef } from './chain';
import { writeRenameChain } from './chain-rename';
import { collectResults, markEchoes, type EchoKind } from './commit-echo';
import * as C from './constants';
import { validateElementNames, writeElements, writeFlushSet, type SetElement } from './elements';
import { describeErrorOffset } from './error-location';
import { GenerationMismatchError, NftCommandError } from './errors';
import { NFT_MSG_DESTROYFLOWTABLE, describeFlowtable, writeDeleteFlowtable, writeNewFlowtable, type Flowtable, type FlowtableRef } from './flowtable';
import { getSetMessage, nftChainOps, nftListOps, setKey, shapeOfMessage } from './list';
import { familyNumber, type NftFamily } from './message';
import { describeObject, writeDeleteObject, writeNewObject, type NftObject, type ObjectHandleRef, type ObjectRef } from './object';
import { BatchBuffer } from './batch-buffer';
import { definitionShape } from './set-shape-cache';
import { checkExpressionKeys } from './expressions/expression-keys';
import { describeRule, writeDeleteRule, writeNewRule, type Rule, type RulePlacement, type RuleRef } from './rule';
import {
  learnTemplate,
  templateScope,
  templatedRule,
  writeFromTemplate,
  writePlainFromTemplate,
  type TemplateScope,
  type TemplatedRule,
} from './rule-templates';
import { resolveDevices, withDeviceIndexes, type DeviceResolver, type NamedDevice } from './rule-devices';
import { describeSet, shapeOf, validateSetNumbers, writeDeleteSet, writeNewSet, type NftSet, type SetHandleRef, type SetRef, type SetShape } from './set';
import { describeTable, writeDeleteTable, writeNewTable, type Table, type TableRef } from './table';
import { validateHandle } from './ranges';
import {
  ADD_OPTION_KEYS,
  ADD_RULE_OPTION_KEYS,
  CHAIN_KEYS,
  COMMIT_OPTION_KEYS,
  ELEMENT_KEYS,
  FLOWTABLE_KEYS,
  INSERT_RULE_OPTION_KEYS,
  RULE_KEYS,
  SET_KEYS,
  TABLE_KEYS,
  rejectUnknownObjectKeys,
} from './write-keys';
import { deleteCommand, type AddOptions, type CommitOptions, type CommitResult, type EchoMode, type RuleAnchor, type RuleInput } from './transaction-options';

export type { AddOptions, CommandAnchor, CommandResult, CommitOptions, CommitResult, EchoMode, RuleAnchor, RuleInput } from './transaction-options';

interface WriteContext {
  shapes: Map<string, SetShape>;
  /** Handles resolved for `insertRule({ index })`, by command. */
  positions: Map<number, RulePlacement>;
  /** Chain handles resolved for `renameChain` by name, by command. */
  chainHandles: Map<number, number>;
  /** Interface indexes by name, resolved at commit for rules that name interfaces. */
  devices?: ReadonlyMap<string, number>;
}

interface Command {
  description: string;
  /** Kind of object a NEW command creates (its primary message is echoed). */
  echo?: EchoKind;
  /**
   * A command encoded when added: its bytes are [start, end) of the transaction's buffer, its
   * messages from `firstMessage` on, the primary one `main` of them. -1 for commands written at commit.
   */
  start: number;
  end: number;
  firstMessage: number;
  main: number;
  /** NFTA_RULE_ID of a rule added or inserted, for rules placed next to it. */
  ruleId?: number;
  /** Element commands: the set whose layout must be known. */
  needsSet?: SetRef;
  /** insertRule({ index }): the chain whose rules must be read first. */
  needsIndex?: { chain: ChainRef & { name: string }; index: number };
  /** renameChain by name: the chain whose handle must be read first. */
  needsChainHandle?: ChainRef & { name: string };
  /** A rule naming interfaces (`fwd to "veth1"`): their indexes are looked up first. */
  needsDevices?: BuiltRule['devices'];
  /** Commands written at commit: writes the messages; returns the index (among them) of the primary message. */
  write?(w: NetlinkWriter, ctx: WriteContext): number;
}

/** A batch ready to send: `buffer`; message offsets in `base` (BATCH_BEGIN first, BATCH_END last). */
interface Built {
  buffer: Buffer;
  base: Buffer;
  offsets: number[];
  /** The command a message (by index in the batch) belongs to, or -1 (BEGIN, END, past the end). */
  ownerOf(message: number): number;
  /** Each echoed NEW command's primary message: batch message index → command. */
  primary: Map<number, number>;
  echoRules: boolean;
}

/** A command written at commit (it needs something read from the kernel first). */
type DeferredCommand = Pick<Command, 'description' | 'echo' | 'needsSet' | 'needsIndex' | 'needsChainHandle' | 'needsDevices'> &
  Required<Pick<Command, 'write'>>;

/** The context of commands encoded when they are added (nothing resolved yet); never modified. */
const NO_CONTEXT: WriteContext = { shapes: new Map(), positions: new Map(), chainHandles: new Map() };

/** Default share of the receive buffer that echoed objects may use. */
const ECHO_SHARE = 4;

/**
 * Collects nftables commands and commits them atomically. Get one from
 * `h.nft.transaction()`; every `add*`/`delete*` call returns the command's
 * index, which errors and results refer to.
 */
export class Transaction {
  private readonly commands: Command[] = [];
  /** Indexes of the commands written at commit (the only ones that can need something read first): commit scans these, not every command. */
  private readonly deferred: number[] = [];
  /** The layouts of the sets this transaction adds (its element commands are encoded with them), by setKey. */
  private readonly definedShapes = new Map<string, SetShape>();
  private nextSetId = 1;
  private nextRuleId = 1;
  private readonly ids: IdAllocator = { setId: () => this.nextSetId++ };
  /** The messages of commands encoded when added, back to back; the batch itself when no command is written at commit. */
  private readonly out = new BatchBuffer();
  /** Whether a batch written in place had NLM_F_ECHO set on messages (the next one clears what it does not echo). */
  private echoesMarked = false;
  /** The rule templates of the chain the last rule went to (rule-templates.ts). */
  private templates?: TemplateScope;
  /** The scope `scopeDescription` describes the rules of. */
  private described?: TemplateScope;
  private scopeDescription = '';

  /**
   * @internal use `h.nft.transaction()`; without an executor the transaction can only be encoded.
   * @param executor runs the commit (the handle's netfilter connection)
   * @param echoBudgetBytes how many echoed bytes the receive buffer can take
   * @param resolveDevice looks up interface indexes by name in the handle's namespace
   */
  constructor(
    private readonly executor?: (op: Operation<CommitResult>) => Promise<CommitResult>,
    private readonly echoBudgetBytes = (4 << 20) / ECHO_SHARE,
    private readonly resolveDevice?: DeviceResolver,
  ) {}

  /** Number of commands collected. */
  get size(): number {
    return this.commands.length;
  }

  /**
   * Descriptions of the collected commands, in order.
   * @example
   * tx.describe(); // ['add table inet nat', 'add chain inet nat postrouting', ...]
   */
  describe(): string[] {
    return this.commands.map((c) => c.description);
  }

  private push(c: DeferredCommand): number {
    // One literal: a spread copy of the command took ~850 bytes of heap (element commands are pushed on every services change).
    const { description, echo, needsSet, needsIndex, needsChainHandle, needsDevices, write } = c;
    this.commands.push({ description, echo, needsSet, needsIndex, needsChainHandle, needsDevices, write, start: -1, end: -1, firstMessage: -1, main: 0 });
    this.deferred.push(this.commands.length - 1);
    return this.commands.length - 1;
  }

  /**
   * Encodes a command right away (so bad input fails here, not at commit)
   * and keeps the bytes: commit then only copies them into the batch.
   */
  private pushEncoded(description: string, echo: EchoKind | undefined, write: (w: NetlinkWriter) => number): number {
    const w = this.out.writer;
    const start = w.length;
    const firstMessage = w.messageOffsets.length;
    let main: number;
    try {
      main = write(w);
    } catch (e) {
      w.rewind(start);
      throw e;
    }
    return this.pushWritten(w, description, echo, start, firstMessage, main);
  }

  /** Records a command just encoded into `w` (the batch buffer's writer) from `start` (messages from `firstMessage`). */
  private pushWritten(
    w: NetlinkWriter,
    description: string,
    echo: EchoKind | undefined,
    start: number,
    firstMessage: number,
    main: number,
    ruleId?: number,
  ): number {
    // Back to back in one growing buffer: no Buffer (nor closure) per command; 100,000 rules held ~2× their bytes in small Buffers.
    this.commands.push({ description, echo, start, end: w.length, firstMessage, main, ruleId });
    return this.commands.length - 1;
  }

  /**
   * Adds a table (idempotent unless `exclusive`).
   * @example
   * tx.addTable({ family: 'inet', name: 'nat' });
   */
  addTable(t: Table, opts: AddOptions = {}): number {
    const flags = addFlags(opts);
    checkWritten(t, TABLE_KEYS, 'table');
    const table = { ...t };
    return this.pushEncoded(`add table ${describeTable(t)}`, 'table', (w) => (writeNewTable(w, table, flags), 0));
  }

  /**
   * Deletes a table and everything in it (`missingOk`: if it is there, nft `destroy`).
   * @example
   * tx.deleteTable({ family: 'inet', name: 'nat' });
   * tx.deleteTable({ family: 'inet', name: 'old' }, { missingOk: true });
   */
  deleteTable(t: TableRef, opts: DeleteOptions = {}): number {
    const { msg, verb } = deleteCommand(opts, C.NFT_MSG_DELTABLE, C.NFT_MSG_DESTROYTABLE);
    checkRef(t, TABLE_KEYS, 'table');
    return this.pushEncoded(`${verb} table ${describeTable(t)}`, undefined, (w) => (writeDeleteTable(w, t, msg), 0));
  }

  /**
   * Deletes every rule of every chain of a table (`nft flush table`).
   * @example
   * tx.flushTable({ family: 'inet', name: 'filter' });
   */
  flushTable(t: { family: NftFamily; name: string }): number {
    checkRef(t, TABLE_KEYS, 'table');
    validateNftName(t.name, 'table name');
    const ref = { family: t.family, table: t.name };
    return this.pushEncoded(`flush table ${describeTable(t)}`, undefined, (w) => (writeDeleteRule(w, ref), 0));
  }

  /**
   * Adds a chain: a base chain when it has a hook, else a regular chain.
   * @example
   * tx.addChain({ family: 'inet', table: 'nat', name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' });
   * tx.addChain({ family: 'inet', table: 'nat', name: 'services' });
   */
  addChain(c: Chain, opts: AddOptions = {}): number {
    const flags = addFlags(opts);
    checkWritten(c, CHAIN_KEYS, 'chain');
    const chain = { ...c };
    return this.pushEncoded(`add chain ${describeChain(c)}`, 'chain', (w) => (writeNewChain(w, chain, flags), 0));
  }

  /**
   * Deletes a chain (it must be empty and unreferenced; `missingOk`: if it is there).
   * @example
   * tx.deleteChain({ family: 'inet', table: 'nat', name: 'services' });
   * tx.deleteChain({ family: 'inet', table: 'nat', name: 'old' }, { missingOk: true });
   */
  deleteChain(c: ChainRef, opts: DeleteOptions = {}): number {
    const { msg, verb } = deleteCommand(opts, C.NFT_MSG_DELCHAIN, C.NFT_MSG_DESTROYCHAIN);
    checkRef(c, CHAIN_KEYS, 'chain');
    return this.pushEncoded(`${verb} chain ${describeChain(c)}`, undefined, (w) => (writeDeleteChain(w, c, msg), 0));
  }

  /**
   * Renames a chain (`nft rename chain`); rules jumping to it follow. By
   * name, its handle is read at commit (NotFoundError if it is missing).
   * @example
   * tx.renameChain({ family: 'inet', table: 'nat', name: 'services' }, 'svc');
   */
  renameChain(c: ChainRef, newName: string): number {
    checkRef(c, CHAIN_KEYS, 'chain');
    validateNftName(newName, 'new chain name');
    const description = `rename chain ${describeChain(c)} ${newName}`;
    const { family, table, handle, name } = c;
    if (handle !== undefined) return this.pushEncoded(description, undefined, (w) => (writeRenameChain(w, { family, table, handle }, newName), 0));
    if (name === undefined) throw new ValidationError('chain', c, 'give its name or handle');
    const index = this.commands.length;
    return this.push({
      description,
      needsChainHandle: { family, table, name },
      write: (w, ctx) => {
        const looked = ctx.chainHandles.get(index);
        if (looked === undefined) throw new Error(`chain ${describeChain(c)} was not looked up before writing`); // needsChainHandle makes commit read it first
        writeRenameChain(w, { family, table, handle: looked }, newName);
        return 0;
      },
    });
  }

  /**
   * Deletes every rule of a chain (`nft flush chain`).
   * @example
   * tx.flushChain({ family: 'inet', table: 'nat', name: 'services' });
   */
  flushChain(c: { family: NftFamily; table: string; name: string }): number {
    checkRef(c, CHAIN_KEYS, 'chain');
    // Without a chain name the message would flush the whole table.
    validateNftName(c.name, 'chain name');
    const ref = { family: c.family, table: c.table, chain: c.name };
    return this.pushEncoded(`flush chain ${describeChain(c)}`, undefined, (w) => (writeDeleteRule(w, ref), 0));
  }

  /**
   * Appends a rule at the end of its chain, or right after `opts.after`.
   * @example
   * tx.addRule({ family: 'inet', table: 'nat', chain: 'postrouting',
   *   rule: rule().ip({ saddr: '10.88.0.0/16' }).oifname(not('cni0')).masquerade() });
   */
  addRule(r: RuleInput, opts: { after?: RuleAnchor } = {}): number {
    rejectUnknownKeys(opts, ADD_RULE_OPTION_KEYS, 'addRule options');
    return this.pushRule(r, 'add', true, opts.after);
  }

  /**
   * Inserts a rule at the start of its chain, right before `opts.before`, or
   * at position `opts.index` (0-based) among the rules the chain has when the
   * transaction is committed (rules added by the same transaction do not count).
   * @example
   * tx.insertRule({ family: 'inet', table: 'filter', chain: 'input', rule: rule().iifname('lo').accept() });
   * tx.insertRule(r, { before: 42 });  // before the rule with handle 42
   * tx.insertRule(r, { index: 3 });
   */
  insertRule(r: RuleInput, opts: { before?: RuleAnchor; index?: number } = {}): number {
    rejectUnknownKeys(opts, INSERT_RULE_OPTION_KEYS, 'insertRule options');
    if (opts.index !== undefined) {
      if (!Number.isInteger(opts.index) || opts.index < 0) throw new ValidationError('index', opts.index, 'must be a non-negative integer');
      if (opts.before !== undefined) throw new ValidationError('index', opts.index, 'give either before or index');
    }
    const idx = this.pushRule(r, 'insert', false, opts.before, opts.index !== undefined);
    if (opts.index !== undefined) this.commands[idx].needsIndex = { chain: { family: r.family, table: r.table, name: r.chain }, index: opts.index };
    return idx;
  }

  /**
   * Replaces the rule with `handle` in place.
   * @example
   * tx.replaceRule({ family: 'inet', table: 'filter', chain: 'input', handle: 7, rule: rule().tcp({ dport: 22 }).drop() });
   */
  replaceRule(r: RuleInput & { handle: number }): number {
    checkWritten(r, RULE_KEYS, 'rule');
    validateHandle(r.handle, 'rule handle');
    return this.pushRule(r, 'replace', false, undefined, false, r.handle);
  }

  /**
   * Deletes a rule by handle (`missingOk`: if it is there).
   * @example
   * tx.deleteRule({ family: 'inet', table: 'filter', chain: 'input', handle: 7 });
   */
  deleteRule(r: RuleRef, opts: DeleteOptions = {}): number {
    const { msg, verb } = deleteCommand(opts, C.NFT_MSG_DELRULE, C.NFT_MSG_DESTROYRULE);
    checkRef(r, RULE_KEYS, 'rule');
    // Without a handle the message would flush the whole chain.
    validateHandle(r.handle, 'rule handle');
    validateNftName(r.chain, 'chain name');
    return this.pushEncoded(`${verb} rule ${describeRule(r)}`, undefined, (w) => (writeDeleteRule(w, r, msg), 0));
  }

  /**
   * Adds a named set or map; `elements` are added with it (or those of a set
   * as `h.nft.ruleset.get()` lists it, which carries them).
   * @example
   * tx.addSet({ family: 'inet', table: 'filter', name: 'allowed', keyType: 'ipv4_addr', flags: ['interval'] },
   *   [{ key: '10.0.0.0/8' }]);
   * tx.addSet({ family: 'inet', table: 'nat', name: 'ports', keyType: ['ipv4_addr', 'inet_service'], dataType: 'verdict' });
   */
  addSet(s: NftSet, elements?: SetElement[], opts: AddOptions = {}): number {
    checkWritten(s, SET_KEYS, 'set');
    if (s.expressions !== undefined) checkExpressionKeys(s.expressions, 'set expressions');
    const listed = (s as NftSet & { elements?: SetElement[] }).elements;
    if (listed !== undefined && !Array.isArray(listed)) throw new ValidationError('set elements', listed, 'must be an array');
    if (elements !== undefined && !Array.isArray(elements)) throw new ValidationError('elements', elements, 'must be an array');
    if (listed?.length && elements?.length)
      throw new ValidationError('elements', s.name, 'give the elements once: in the set (as listed) or as the second argument');
    const toAdd = elements?.length ? elements : (listed ?? []);
    checkElements(toAdd);
    if (s.flags?.includes('anonymous')) {
      throw new ValidationError('set flags', s.name, 'an anonymous set belongs to a rule: add the rule (a listed rule carries it in anonymousSets)');
    }
    const flags = addFlags(opts);
    validateSetNumbers(s); // before its layout is worked out from them
    const { elements: _listed, ...set } = s as NftSet & { elements?: SetElement[] };
    const id = this.ids.setId();
    // Derived from the caller's definition object once while it stays the same (a services change declares the same maps each time).
    const shape = definitionShape(s);
    this.definedShapes.set(setKey(set), shape);
    return this.pushEncoded(`add ${set.dataType !== undefined || set.objectType !== undefined ? 'map' : 'set'} ${describeSet(set)}`, 'set', (w) => {
      writeNewSet(w, set, flags, id);
      if (toAdd.length) writeElements(w, C.NFT_MSG_NEWSETELEM, NLM_F_CREATE, { family: set.family, table: set.table, set: set.name }, shape, toAdd);
      return 0;
    });
  }

  /**
   * Deletes a set or map, by name or by handle (`missingOk`: if it is there).
   * Given both (a listed set), the handle decides, as for chains.
   * @example
   * tx.deleteSet({ family: 'inet', table: 'filter', name: 'allowed' });
   * tx.deleteSet({ family: 'inet', table: 'filter', handle: 4 });
   * tx.deleteSet({ family: 'inet', table: 'filter', name: 'old' }, { missingOk: true });
   */
  deleteSet(s: SetRef | SetHandleRef, opts: DeleteOptions = {}): number {
    const { msg, verb } = deleteCommand(opts, C.NFT_MSG_DELSET, C.NFT_MSG_DESTROYSET);
    checkRef(s, SET_KEYS, 'set');
    return this.pushEncoded(`${verb} set ${describeSet(s)}`, undefined, (w) => (writeDeleteSet(w, s, msg), 0));
  }

  /**
   * Adds elements to a set or map. The set's types come from a set added
   * earlier in this transaction, or are read from the kernel at commit.
   * @example
   * tx.addElements({ family: 'inet', table: 'filter', name: 'allowed' }, [{ key: '192.168.0.0/16' }]);
   * tx.addElements({ family: 'inet', table: 'nat', name: 'ports' }, [{ key: ['10.0.0.2', 80], verdict: { code: 'accept' } }]);
   */
  addElements(s: SetRef, elements: SetElement[], opts: AddOptions = {}): number {
    const flags = addFlags(opts);
    return this.pushElements(s, elements, C.NFT_MSG_NEWSETELEM, flags, 'add elements to');
  }

  /**
   * Deletes elements (give the same keys, prefixes or ranges they were added with;
   * `missingOk`: those that are there).
   * @example
   * tx.deleteElements({ family: 'inet', table: 'filter', name: 'allowed' }, [{ key: '192.168.0.0/16' }]);
   */
  deleteElements(s: SetRef, elements: SetElement[], opts: DeleteOptions = {}): number {
    const { msg, verb } = deleteCommand(opts, C.NFT_MSG_DELSETELEM, C.NFT_MSG_DESTROYSETELEM);
    return this.pushElements(s, elements, msg, 0, `${verb} elements from`);
  }

  /**
   * Deletes every element of a set or map.
   * @example
   * tx.flushSet({ family: 'inet', table: 'filter', name: 'allowed' });
   */
  flushSet(s: SetRef): number {
    checkRef(s, SET_KEYS, 'set');
    return this.pushEncoded(`flush set ${describeSet(s)}`, undefined, (w) => (writeFlushSet(w, s), 0));
  }

  /**
   * Adds a named object (counter, quota, limit, ct helper, ct timeout, ct expectation, synproxy, secmark).
   * @example
   * tx.addObject({ family: 'inet', table: 'filter', name: 'http', type: 'counter' });
   * tx.addObject({ family: 'inet', table: 'filter', name: 'q', type: 'quota', bytes: 10_000_000n });
   * tx.addObject({ family: 'inet', table: 'filter', name: 'ftp', type: 'ct helper', helper: 'ftp', protocol: 'tcp' });
   * tx.addObject({ family: 'inet', table: 'filter', name: 'short', type: 'ct timeout', protocol: 'tcp', policy: { established: 100 } });
   */
  addObject(o: NftObject, opts: AddOptions = {}): number {
    const flags = addFlags(opts);
    if (!isObject(o)) throw new ValidationError('object', o, 'must be an object with family, table, name and type');
    rejectUnknownObjectKeys(o);
    if (o.handle !== undefined) validateHandle(o.handle, 'object handle');
    const obj = { ...o };
    return this.pushEncoded(`add ${describeObject(obj)}`, 'object', (w) => (writeNewObject(w, obj, flags), 0));
  }

  /**
   * Deletes a named object, by name or by handle, with its type either way
   * (`missingOk`: if it is there). Given both (a listed object), the handle decides.
   * @example
   * tx.deleteObject({ family: 'inet', table: 'filter', name: 'http', type: 'counter' });
   * tx.deleteObject({ family: 'inet', table: 'filter', handle: 3, type: 'counter' });
   * tx.deleteObject({ family: 'inet', table: 'filter', name: 'old', type: 'quota' }, { missingOk: true });
   */
  deleteObject(o: ObjectRef | ObjectHandleRef, opts: DeleteOptions = {}): number {
    const { msg, verb } = deleteCommand(opts, C.NFT_MSG_DELOBJ, C.NFT_MSG_DESTROYOBJ);
    if (!isObject(o) || Array.isArray(o)) throw new ValidationError('object', o, 'must be an object with family, table, type, and name or handle');
    rejectUnknownObjectKeys(o as NftObject);
    checkFamily(o.family);
    return this.pushEncoded(`${verb} ${describeObject(o)}`, undefined, (w) => (writeDeleteObject(w, o, msg), 0));
  }

  /**
   * Adds a flowtable (`nft add flowtable`); rules enter connections into it
   * with the `flow_offload` expression (`flow add @name`).
   * @example
   * tx.addFlowtable({ family: 'inet', table: 'filter', name: 'ft', priority: 0, devices: ['veth0', 'veth1'], flags: ['counter'] });
   */
  addFlowtable(f: Flowtable, opts: AddOptions = {}): number {
    const flags = addFlags(opts);
    checkWritten(f, FLOWTABLE_KEYS, 'flowtable');
    const ft = { ...f };
    return this.pushEncoded(`add flowtable ${describeFlowtable(f)}`, undefined, (w) => (writeNewFlowtable(w, ft, flags), 0));
  }

  /**
   * Deletes a flowtable (no rule may use it; `missingOk`: if it is there).
   * @example
   * tx.deleteFlowtable({ family: 'inet', table: 'filter', name: 'ft' });
   */
  deleteFlowtable(f: FlowtableRef, opts: DeleteOptions = {}): number {
    const { msg, verb } = deleteCommand(opts, C.NFT_MSG_DELFLOWTABLE, NFT_MSG_DESTROYFLOWTABLE);
    checkRef(f, FLOWTABLE_KEYS, 'flowtable');
    return this.pushEncoded(`${verb} flowtable ${describeFlowtable(f)}`, undefined, (w) => (writeDeleteFlowtable(w, f, msg), 0));
  }

  /**
   * Commits every command in one batch. Resolves with per-command results
   * (handles); rejects with NftCommandError naming the failing command,
   * or GenerationMismatchError. Either way on failure nothing was applied.
   * Interfaces rules name (`fwd('veth1')`) are looked up first, in the
   * handle's namespace (NotFoundError naming a missing one; nothing sent).
   * @example
   * const tx = h.nft.transaction();
   * tx.addTable({ family: 'inet', name: 'nat' });
   * const { results } = await tx.commit();
   */
  commit(opts: CommitOptions = {}): Promise<CommitResult> {
    try {
      rejectUnknownKeys(opts, COMMIT_OPTION_KEYS, 'commit options');
    } catch (e) {
      return Promise.reject(e);
    }
    const executor = this.executor;
    if (!executor) return Promise.reject(new Error('this transaction is not bound to a handle: use h.nft.transaction()'));
    const named = this.namedDevices();
    if (named.length) return resolveDevices(named, this.resolveDevice).then((devices) => executor(this.commitOperation(opts, devices)));
    let op: Operation<CommitResult>;
    try {
      op = this.commitOperation(opts);
    } catch (e) {
      return Promise.reject(e);
    }
    return executor(op);
  }

  /** The interfaces rules name, with their commands (only commands written at commit name any). */
  private namedDevices(): NamedDevice[] {
    const out: NamedDevice[] = [];
    for (const command of this.deferred) {
      const c = this.commands[command];
      for (const slot of c.needsDevices ?? []) out.push({ slot, command, description: c.description });
    }
    return out;
  }

  /**
   * The kernel's definition of a set an element command writes to. A missing
   * set fails that command, as the kernel would have (NftCommandError, ENOENT).
   */
  private *lookUpSet(c: Command, index: number, set: SetRef): Operation<NetlinkMessage> {
    try {
      return yield* getSetMessage(set);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      throw new NftCommandError({
        errno: e.errno,
        operation: '',
        command: index,
        description: c.description,
        extack: `set ${describeSet(set)} does not exist`,
      });
    }
  }

  /** @internal the commit as an operation, for running on any executor (`devices`: the indexes of the interfaces rules name). */
  *commitOperation(opts: CommitOptions = {}, devices?: ReadonlyMap<string, number>): Operation<CommitResult> {
    rejectUnknownKeys(opts, COMMIT_OPTION_KEYS, 'commit options');
    if (opts.expectGeneration !== undefined && (!Number.isInteger(opts.expectGeneration) || opts.expectGeneration <= 0)) {
      throw new ValidationError('expectGeneration', opts.expectGeneration, 'must be a generation id from generation()');
    }
    const unresolved = devices ? undefined : this.namedDevices().at(0);
    if (unresolved)
      throw new ValidationError(unresolved.slot.field, unresolved.slot.name, "an interface name needs commit() (it is looked up in the handle's namespace)");
    const ctx: WriteContext = { shapes: new Map(), positions: new Map(), chainHandles: new Map(), devices };
    // Only commands written at commit need something read first (a transaction of 1,000 rules has none).
    const deferred = this.deferred;
    for (const i of deferred) {
      const c = this.commands[i];
      if (c.needsSet) {
        const key = setKey(c.needsSet);
        if (ctx.shapes.has(key)) continue;
        ctx.shapes.set(key, this.definedShapes.get(key) ?? shapeOfMessage(yield* this.lookUpSet(c, i, c.needsSet)));
      }
    }
    for (const i of deferred) {
      const c = this.commands[i];
      if (!c.needsIndex) continue;
      const rules = yield* nftListOps.listRules({ family: c.needsIndex.chain.family, table: c.needsIndex.chain.table, chain: c.needsIndex.chain.name });
      const index = c.needsIndex.index;
      if (index > rules.length) throw new ValidationError('index', index, `the chain has only ${rules.length} rules`);
      ctx.positions.set(i, index === 0 ? { append: false } : { append: true, position: rules[index - 1].handle });
    }
    for (const i of deferred) {
      const c = this.commands[i];
      if (c.needsChainHandle) ctx.chainHandles.set(i, (yield* nftChainOps.get(c.needsChainHandle)).handle ?? 0);
    }
    const built = this.build(ctx, opts);
    let replies: NetlinkMessage[];
    try {
      replies = yield* batch(built.buffer, `nftables transaction of ${this.commands.length} commands`);
    } catch (e) {
      throw this.explain(e, built, opts);
    }
    return collectResults(replies, built, this.describe());
  }

  /**
   * The batch exactly as `commit` would send it (sequence numbers still 0), for inspection and tests.
   * @example
   * const bytes = tx.encode(); // nfnetlink batch: BATCH_BEGIN, the commands, BATCH_END
   */
  encode(opts: CommitOptions = {}): Buffer {
    rejectUnknownKeys(opts, COMMIT_OPTION_KEYS, 'encode options');
    const named = this.namedDevices().at(0);
    if (named) throw new ValidationError(named.slot.field, named.slot.name, 'an interface name is looked up at commit: encode() needs interface indexes');
    const ctx: WriteContext = { shapes: new Map(), positions: new Map(), chainHandles: new Map() };
    for (const [k, shape] of this.definedShapes) ctx.shapes.set(k, shape);
    const built = this.build(ctx, opts);
    // A copy (the batch may be this transaction's own buffer), without the numbers an earlier commit stamped into it.
    const out = Buffer.from(built.buffer);
    const shift = built.buffer.byteOffset - built.base.byteOffset;
    for (const at of built.offsets) out.fill(0, at - shift + 8, at - shift + 12);
    return out;
  }

  private build(ctx: WriteContext, opts: CommitOptions): Built {
    const mode = opts.echo ?? 'auto';
    if (this.deferred.length === 0) {
      // Every command was encoded when added: the batch is the transaction's own buffer, nothing copied.
      const { buffer, base, offsets } = this.out.batch(opts.expectGeneration);
      // Each NEW command's primary message (batch message index → command), only when echoes are chosen or were set before.
      const primary = new Map<number, number>();
      if (mode !== 'none' || this.echoesMarked)
        for (let i = 0; i < this.commands.length; i++) if (this.commands[i].echo) primary.set(this.commands[i].firstMessage + this.commands[i].main + 1, i);
      const echoRules = markEchoes(base, offsets, primary, (cmd) => this.commands[cmd].echo, mode, this.echoBudgetBytes);
      this.echoesMarked = mode !== 'none';
      const last = offsets.length - 1;
      const ownerOf = (m: number): number => (m <= 0 || m >= last ? -1 : this.commandOfMessage(m - 1));
      return { buffer, base, offsets, ownerOf, primary, echoRules };
    }
    return this.buildCopy(ctx, mode, opts.expectGeneration);
  }

  /** The command whose messages include the buffer's message `m` (every command encoded when added). */
  private commandOfMessage(m: number): number {
    for (let i = this.commands.length - 1; i >= 0; i--) if (this.commands[i].firstMessage <= m) return i;
    return -1;
  }

  /** The batch in a new buffer: commands encoded when added are copied, the others written now. */
  private buildCopy(ctx: WriteContext, mode: EchoMode, generation: number | undefined): Built {
    const encoded = this.out.writer;
    // Sized for everything encoded so far: no doubling copies of a large batch.
    const w = new NetlinkWriter(encoded.length + 64 * 1024);
    const owners: number[] = [-1];
    writeBatchBegin(w, NFNL_SUBSYS_NFTABLES, NLM_F_ECHO, generation);
    // message index → command, and each NEW command's primary message.
    const primary = new Map<number, number>();
    // Commands encoded when added are copied in runs (one copy for a transaction of rules).
    let runStart = -1;
    let runEnd = -1;
    const flush = (): void => {
      if (runStart >= 0) w.bytes(encoded.written(runStart, runEnd));
      runStart = -1;
    };
    for (let i = 0; i < this.commands.length; i++) {
      const c = this.commands[i];
      const first = w.messageOffsets.length;
      let main: number;
      if (c.write) {
        flush();
        main = c.write(w, ctx);
      } else {
        if (runStart < 0 || c.start !== runEnd) {
          flush();
          runStart = c.start;
        }
        runEnd = c.end;
        // Where the command's messages will be once the run is copied (at w.length: nothing else is written meanwhile).
        const shift = w.length - runStart;
        for (let m = c.firstMessage; m < encoded.messageOffsets.length && encoded.messageOffsets[m] < c.end; m++)
          w.messageOffsets.push(encoded.messageOffsets[m] + shift);
        main = c.main;
      }
      for (let m = first; m < w.messageOffsets.length; m++) owners.push(i);
      if (c.echo) primary.set(first + main, i);
    }
    flush();
    writeBatchEnd(w, NFNL_SUBSYS_NFTABLES);
    owners.push(-1);
    const buffer = w.written(); // the writer is dropped: no copy
    // Copied runs keep flags an earlier batch written in place set: markEchoes sets or clears each.
    const echoRules = markEchoes(buffer, w.messageOffsets, primary, (cmd) => this.commands[cmd].echo, mode, this.echoBudgetBytes);
    return { buffer, base: buffer, offsets: w.messageOffsets, ownerOf: (m) => (m >= 0 && m < owners.length ? owners[m] : -1), primary, echoRules };
  }

  /** Maps a kernel error to the command it belongs to. */
  private explain(e: unknown, built: Built, opts: CommitOptions): unknown {
    if (!(e instanceof NetlinkError) || e.commandIndex === undefined) return e;
    const owner = built.ownerOf(e.commandIndex); // the kernel's index may point past our commands
    if (owner < 0) {
      if (e.errno === ERESTART && opts.expectGeneration !== undefined) return new GenerationMismatchError(opts.expectGeneration);
      return e;
    }
    return new NftCommandError({
      errno: e.errno,
      operation: e.operation,
      extack: e.extack,
      extackOffset: e.extackOffset,
      missingAttribute: e.missingAttribute,
      command: owner,
      description: this.commands[owner].description,
      attribute: e.extackOffset !== undefined ? describeErrorOffset(built.base, built.offsets[e.commandIndex], e.extackOffset) : undefined,
    });
  }

  /** A rule's placement, built as one object shape (no spread: it is read for every rule written). */
  private placement(append: boolean, ruleId: number, a: RuleAnchor | undefined): RulePlacement {
    const p: RulePlacement = { append, ruleId };
    if (a !== undefined) Object.assign(p, this.anchor(a));
    return p;
  }

  private anchor(a: RuleAnchor | undefined): Pick<RulePlacement, 'position' | 'positionId'> {
    if (a === undefined) return {};
    if (typeof a === 'number') return { position: validateHandle(a, 'position') };
    const id = (this.commands[a.command] as Command | undefined)?.ruleId;
    if (id === undefined) throw new ValidationError('position', a, 'must refer to a rule added earlier in this transaction');
    return { positionId: id };
  }

  private pushRule(r: RuleInput, verb: string, append: boolean, anchor: RuleAnchor | undefined, dynamic = false, replace?: number): number {
    checkWritten(r, RULE_KEYS, 'rule');
    if (r.anonymousSets !== undefined) checkAnonymousSets(r.anonymousSets);
    if ((r.expressions === undefined) === (r.rule === undefined)) throw new ValidationError('rule', r, 'give exactly one of expressions or rule');
    if (r.expressions !== undefined) checkExpressionKeys(r.expressions, 'rule expressions');
    // A builder's rule of a shape seen before is copied from its template (rule-templates.ts).
    let templated: TemplatedRule | undefined;
    if (r.rule !== undefined && !dynamic && replace === undefined && anchor === undefined && r.userdata === undefined) {
      const scope = (this.templates = templateScope(this.templates, r.family, r.table, r.chain, append));
      if (scope !== undefined) {
        const w = this.out.writer;
        const start = w.length;
        const firstMessage = w.messageOffsets.length;
        // Without a comment, looked up by the builder's own key (no objects per rule); else, or before the shape has a template, the long way.
        let done = r.comment === undefined && writePlainFromTemplate(w, scope, r.rule, this.nextRuleId);
        if (!done) {
          templated = templatedRule(scope, r.rule, r.comment);
          done = templated !== undefined && writeFromTemplate(w, templated, this.nextRuleId);
        }
        if (done) {
          // One description string per table, chain and verb (the scope: `verb` follows `append` here), not one per rule.
          if (this.described !== scope) {
            this.described = scope;
            this.scopeDescription = `${verb} rule ${describeRule(r)}`;
          }
          // pushWritten's literal, inline: a new process runs this for every rule (a small function called per rule is optimised early).
          this.commands.push({ description: this.scopeDescription, echo: 'rule', start, end: w.length, firstMessage, main: 0, ruleId: this.nextRuleId++ });
          return this.commands.length - 1;
        }
      }
    }
    const built: BuiltRule = r.rule ? r.rule.build(r.family, this.ids) : recreateAnonymousSets(r.expressions ?? [], r.anonymousSets, this.ids);
    // Inline sets live in the rule's table.
    // eslint-disable-next-line @typescript-eslint/prefer-for-of -- runs unoptimised in a new process, where for-of allocates per step
    for (let i = 0; i < built.anonymousSets.length; i++) {
      const a = built.anonymousSets[i];
      a.set = { ...a.set, family: r.family, table: r.table };
    }
    const rule: Omit<Rule, 'handle'> = {
      family: r.family,
      table: r.table,
      chain: r.chain,
      expressions: built.expressions,
      comment: r.comment ?? built.comment,
      userdata: r.userdata,
    };
    const ruleId = replace !== undefined ? 0 : this.nextRuleId++;
    const placement: RulePlacement = replace !== undefined ? { append: false, replace } : this.placement(append, ruleId, anchor);
    const description = `${verb} rule ${describeRule(r)}`;
    // Rules placed by index or naming interfaces are written at commit, once the chain or the interfaces were read; others now.
    if (dynamic || built.devices) {
      const index = this.commands.length;
      const devices = built.devices;
      const write = (w: NetlinkWriter, ctx: WriteContext): number => {
        const named = devices ? { ...rule, expressions: withDeviceIndexes(rule.expressions, devices, ctx.devices) } : rule;
        return writeRuleMessages(w, built, named, placement, ctx.positions.get(index));
      };
      write(new NetlinkWriter(), NO_CONTEXT); // validates now
      const at = this.push({ description, echo: 'rule', write, needsDevices: devices });
      this.commands[at].ruleId = ruleId || undefined;
      return at;
    }
    // Encoded in place (no closure per rule: a new process runs this in the interpreter, 1,000s of times).
    const w = this.out.writer;
    const start = w.length;
    const firstMessage = w.messageOffsets.length;
    let main: number;
    try {
      main = writeRuleMessages(w, built, rule, placement, undefined);
    } catch (e) {
      w.rewind(start);
      throw e;
    }
    if (templated !== undefined && main === 0 && w.messageOffsets.length === firstMessage + 1) learnTemplate(templated, ruleId, w.written(start, w.length));
    return this.pushWritten(w, description, 'rule', start, firstMessage, main, ruleId || undefined);
  }

  private pushElements(s: SetRef, elements: SetElement[], msg: Parameters<typeof writeElements>[1], flags: number, verb: string): number {
    checkRef(s, SET_KEYS, 'set');
    if (!Array.isArray(elements)) throw new ValidationError('elements', elements, 'must be an array');
    checkElements(elements);
    validateElementNames({ table: s.table, set: s.name }, elements);
    const key = setKey(s);
    const shape = this.definedShapes.get(key);
    if (shape) {
      return this.pushEncoded(
        `${verb} set ${describeSet(s)}`,
        undefined,
        (w) => (writeElements(w, msg, flags, { family: s.family, table: s.table, set: s.name }, shape, elements), 0),
      );
    }
    return this.push({
      description: `${verb} set ${describeSet(s)}`,
      needsSet: s,
      write: (w, ctx) => {
        const shape = ctx.shapes.get(key);
        if (!shape) throw new Error(`set ${describeSet(s)} was not looked up before writing`); // needsSet makes commit fetch it first
        writeElements(w, msg, flags, { family: s.family, table: s.table, set: s.name }, shape, elements);
        return 0;
      },
    });
  }
}

/**
 * Refuses what an add call was given that is not an object, or that has a key
 * its kind does not (write-keys.ts: the keys written and the read-only ones
 * a listing returns), and a read-only handle that is no handle.
 */
function checkWritten(value: object, keys: readonly string[], field: string): void {
  if (!isObject(value) || Array.isArray(value)) throw new ValidationError(field, value, 'must be an object');
  rejectUnknownKeys(value, keys, field);
  const handle = (value as { handle?: unknown }).handle;
  if (handle !== undefined) validateHandle(handle, `${field} handle`);
}

/** Refuses elements with keys an element does not have, and expressions with keys theirs do not. */
function checkElements(elements: readonly SetElement[]): void {
  // eslint-disable-next-line @typescript-eslint/prefer-for-of -- runs for every element of a services change, often unoptimised
  for (let i = 0; i < elements.length; i++) {
    const e = elements[i];
    rejectUnknownKeys(e, ELEMENT_KEYS, 'element');
    if (e.expressions !== undefined) checkExpressionKeys(e.expressions, 'element expressions');
  }
}

/**
 * Refuses a reference (to delete, flush or rename) that is not an object, has
 * a key its kind does not (write-keys.ts: a listed object is its own
 * reference), a family that is none, or a handle that is no handle.
 */
function checkRef(value: object, keys: readonly string[], field: string): void {
  checkWritten(value, keys, field);
  checkFamily((value as { family?: unknown }).family);
}

/** Refuses a family that is not one nftables has. */
function checkFamily(family: unknown): void {
  familyNumber(family as NftFamily);
}

/** Refuses anonymous sets (and their elements) a rule carries with keys they do not have. */
function checkAnonymousSets(sets: unknown): void {
  if (!Array.isArray(sets)) throw new ValidationError('anonymousSets', sets, 'must be an array of sets with their elements');
  for (const s of sets as unknown[]) {
    checkWritten(s as object, SET_KEYS, 'anonymous set');
    const expressions = (s as { expressions?: unknown }).expressions;
    if (expressions !== undefined) checkExpressionKeys(expressions, 'anonymous set expressions');
    const elements = (s as { elements?: unknown }).elements;
    if (!Array.isArray(elements)) throw new ValidationError('anonymous set elements', elements, 'must be an array');
    checkElements(elements as SetElement[]);
  }
}

/** The netlink flags of an add (`exclusive`: nft `create`); unknown option keys refused. */
function addFlags(opts: AddOptions): number {
  rejectUnknownKeys(opts, ADD_OPTION_KEYS, 'add options');
  return NLM_F_CREATE | (opts.exclusive ? NLM_F_EXCL : 0);
}

/** A rule's messages (its inline sets, then NEWRULE); returns the index of NEWRULE among them. */
function writeRuleMessages(
  w: NetlinkWriter,
  built: BuiltRule,
  rule: Omit<Rule, 'handle'>,
  placement: RulePlacement,
  resolved: RulePlacement | undefined,
): number {
  const before = w.messageOffsets.length;
  // eslint-disable-next-line @typescript-eslint/prefer-for-of -- runs unoptimised in a new process, where for-of allocates per step
  for (let i = 0; i < built.anonymousSets.length; i++) {
    const a = built.anonymousSets[i];
    writeNewSet(w, a.set, NLM_F_CREATE, a.id);
    if (a.elements.length)
      writeElements(
        w,
        C.NFT_MSG_NEWSETELEM,
        NLM_F_CREATE,
        { family: a.set.family, table: a.set.table, set: a.set.name, setId: a.id },
        shapeOf(a.set),
        a.elements,
      );
  }
  const main = w.messageOffsets.length - before;
  writeNewRule(w, rule, resolved ? { ...placement, ...resolved } : placement, 0);
  return main;
}
