/**
 * Turns a table of operations (generator functions) into the methods users
 * call: async ones on a {@link Handle}, blocking ones on a SyncHandle.
 * @module
 */
import { SingleRequest, runSingle } from './single-request';
import { runAsync, runSync, type AsyncExecutor, type Operation, type OperationEnv, type SyncExecutor } from './operation';

/** `(...args) => Operation<R>` becomes `(...args) => Promise<R>`; docs carry over. */
export type AsyncOps<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Operation<infer R> ? (...args: A) => Promise<R> : never;
};

/** `(...args) => Operation<R>` becomes `(...args) => R`. */
export type SyncOps<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Operation<infer R> ? (...args: A) => R : never;
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the constraint must accept every operation's parameter list
type OpTable = Record<string, (...args: any[]) => Operation<unknown>>;

export function bindAsync<T extends OpTable>(ex: AsyncExecutor, ops: T, env?: OperationEnv): AsyncOps<T> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(ops)) {
    out[name] = (...args: unknown[]) => {
      let op: Operation<unknown>;
      try {
        op = fn(...args);
      } catch (e) {
        return Promise.reject(e);
      }
      return op instanceof SingleRequest ? runSingle(ex, op, env) : runAsync(ex, op, env);
    };
  }
  return out as AsyncOps<T>;
}

export function bindSync<T extends OpTable>(ex: SyncExecutor, ops: T, env?: OperationEnv): SyncOps<T> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(ops)) out[name] = (...args: unknown[]) => runSync(ex, fn(...args), env);
  return out as SyncOps<T>;
}
