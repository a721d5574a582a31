/**
 * Interfaces a rule names (`fwd to "veth1"`, `dup to 10.0.0.2 device
 * "veth0"`): the kernel takes an index, nft resolves the name when it builds
 * the rule. nlkit's builder is synchronous and has no handle, so the
 * transaction resolves the names when it is committed, in the handle's
 * namespace (through the resolver the handle gives it), and writes the
 * indexes into the rule. As with nft, an interface renamed or replaced after
 * that lookup keeps the rule pointing at the index that was looked up.
 * @module
 */
import { NotFoundError } from '../netlink/errors';
import type { DeviceSlot } from './builder/context';
import { hostU32 } from './data';
import type { Expression } from './expressions/registry';

/** Looks up an interface's index by name in the handle's namespace (NotFoundError if it is missing). */
export type DeviceResolver = (name: string) => Promise<number>;

/** An interface name of one command, for resolving and for errors. */
export interface NamedDevice {
  slot: DeviceSlot;
  command: number;
  description: string;
}

/** Resolves every name once (the lookups run at once); a missing interface is a NotFoundError naming it and the command. */
export async function resolveDevices(named: NamedDevice[], resolve: DeviceResolver | undefined): Promise<Map<string, number>> {
  if (!resolve) throw new Error('this transaction cannot resolve interface names: use h.nft.transaction(), or give interface indexes');
  const first = new Map<string, NamedDevice>();
  for (const n of named) if (!first.has(n.slot.name)) first.set(n.slot.name, n);
  const indexes = new Map<string, number>();
  await Promise.all(
    [...first.values()].map(async ({ slot, command, description }) => {
      try {
        indexes.set(slot.name, await resolve(slot.name));
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
        throw new NotFoundError('link', {
          errno: e.errno,
          operation: `nftables transaction: command #${command} (${description}): ${slot.field} "${slot.name}"`,
          extack: `no interface "${slot.name}" in the handle's namespace; nothing was sent`,
        });
      }
    }),
  );
  return indexes;
}

/** The rule's expressions with each named interface's index written in (placeholders kept when `indexes` is not given: validation only). */
export function withDeviceIndexes(expressions: Expression[], slots: DeviceSlot[], indexes: ReadonlyMap<string, number> | undefined): Expression[] {
  if (!indexes) return expressions;
  const bySlot = new Map<Expression, string>(slots.map((s) => [s.expression, s.name]));
  return expressions.map((e) => {
    const name = bySlot.get(e);
    if (name === undefined || e.type !== 'immediate') return e;
    const index = indexes.get(name);
    if (index === undefined) throw new Error(`interface "${name}" was not resolved before writing`); // commit resolves every slot first
    return { ...e, data: hostU32(index) };
  });
}
