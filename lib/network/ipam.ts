/**
 * IP address management for a network: allocations persisted on disk (by
 * default under /run, so they vanish with the kernel state at reboot instead
 * of leaking like CNI host-local's), safe when several processes attach to the
 * same network at once (flock around every read-modify-write).
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NlkitError, ValidationError } from '../netlink/errors';
import type { AddressPool } from './address-pool';
import { readStateFile, withFileLock, writeFileAtomic } from './file-lock';
import { ensureTrustedDir } from './state-dir';
import { parseLeaseFile } from './state-shape';

/** The pool has no free address left. */
export class IpamExhaustedError extends NlkitError {
  override name = 'IpamExhaustedError';
  constructor(
    readonly network: string,
    readonly subnet: string,
  ) {
    super(`network ${network}: no free address left in ${subnet}`);
  }
}

/** A requested address is taken by another owner. */
export class AddressInUseError extends NlkitError {
  override name = 'AddressInUseError';
  constructor(
    readonly address: string,
    readonly owner: string,
  ) {
    super(`address ${address} is already allocated to ${owner}`);
  }
}

interface IpamState {
  version: 1;
  /** address -> owner */
  allocations: Record<string, string>;
  /** last address handed out per family, to continue round-robin after it */
  last: Record<string, string>;
}

/**
 * The last lease file this process read or wrote, per file, with what it parsed to: a file read again under its
 * lock with the very same text is not parsed and shape-checked again (an attach and a detach each read it). Keyed by
 * the text, not by a stat() stamp: an inode reused at once (ext4) with times a jiffy coarse cannot tell two versions
 * apart, and a stale lease would hand an address out twice. The state is handed to an update to change: the entry
 * is replaced by what it writes, or dropped if it fails.
 */
const lastRead = new Map<string, { text: string; state: IpamState }>();

/** What one owner holds. */
export interface Lease {
  ipv4?: string;
  ipv6?: string;
}

export class Ipam {
  private readonly file: string;
  private readonly lock: string;

  /** @param trust checks `stateDir` before it is used (default: the whole walk from /, see state-dir.ts) */
  constructor(
    stateDir: string,
    readonly network: string,
    private readonly pools: AddressPool[],
    trust: (dir: string) => unknown = ensureTrustedDir,
  ) {
    trust(stateDir);
    this.file = path.join(stateDir, `${network}.json`);
    this.lock = path.join(stateDir, `${network}.lock`);
  }

  /**
   * Gives `owner` one address per pool (or the requested ones). Idempotent:
   * an owner that already holds addresses gets the same ones back.
   */
  async allocate(owner: string, requested: Lease = {}): Promise<Lease> {
    for (const [key, family] of [
      ['ipv4', 4],
      ['ipv6', 6],
    ] as const) {
      if (requested[key] !== undefined && !this.pools.some((p) => p.family === family)) {
        throw new ValidationError(key, requested[key], `network ${this.network} has no IPv${family} subnet`);
      }
    }
    return this.update((st) => {
      const mine = this.leaseOf(st, owner);
      const lease: Lease = {};
      for (const pool of this.pools) {
        const key = pool.family === 4 ? 'ipv4' : 'ipv6';
        const want = requested[key];
        if (mine[key] && (!want || pool.canonical(want) === mine[key])) {
          lease[key] = mine[key];
          continue;
        }
        if (want) {
          const ip = pool.canonical(want);
          if (!pool.usable(ip)) throw new ValidationError(key, want, `not a usable host address of ${pool.subnet}`);
          const holder = st.allocations[ip];
          if (holder && holder !== owner) throw new AddressInUseError(ip, holder);
          st.allocations[ip] = owner;
          lease[key] = ip;
          continue;
        }
        const ip = pool.nextFree((x) => x in st.allocations, st.last[pool.family]);
        if (!ip) throw new IpamExhaustedError(this.network, pool.subnet);
        st.allocations[ip] = owner;
        st.last[pool.family] = ip;
        lease[key] = ip;
      }
      return lease;
    });
  }

  /** Frees everything `owner` (or each of several owners) holds, in one update; returns the freed addresses. */
  async release(owner: string | string[]): Promise<string[]> {
    const owners = new Set(Array.isArray(owner) ? owner : [owner]);
    return this.update((st) => {
      const freed = Object.keys(st.allocations).filter((ip) => owners.has(st.allocations[ip]));
      for (const ip of freed) delete st.allocations[ip];
      return freed;
    });
  }

  /** address -> owner, as persisted now. */
  async list(): Promise<Record<string, string>> {
    return withFileLock(this.lock, () => ({ ...this.read().allocations })); // a copy: the read state is kept
  }

  /** Removes the state files (the network is being deleted). */
  async destroy(): Promise<void> {
    await withFileLock(this.lock, () => {
      lastRead.delete(this.file);
      fs.rmSync(this.file, { force: true });
    });
    fs.rmSync(this.lock, { force: true });
  }

  private leaseOf(st: IpamState, owner: string): Lease {
    const lease: Lease = {};
    for (const [ip, o] of Object.entries(st.allocations)) {
      if (o !== owner) continue;
      if (ip.includes(':')) lease.ipv6 = ip;
      else lease.ipv4 = ip;
    }
    return lease;
  }

  private read(): IpamState {
    let text: string;
    try {
      text = readStateFile(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, allocations: {}, last: {} };
      throw e;
    }
    const known = lastRead.get(this.file);
    if (known?.text === text) return known.state;
    const st = parseLeaseFile(this.file, text); // checked; written by older versions too
    const state: IpamState = { version: 1, allocations: st.allocations, last: st.last ?? {} };
    lastRead.set(this.file, { text, state });
    return state;
  }

  private async update<T>(fn: (st: IpamState) => T): Promise<T> {
    return withFileLock(this.lock, () => {
      const st = this.read();
      lastRead.delete(this.file); // fn changes it: kept again only as written
      const result = fn(st);
      const text = JSON.stringify(st);
      writeFileAtomic(this.file, text);
      lastRead.set(this.file, { text, state: st });
      return result;
    });
  }
}
