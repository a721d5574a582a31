// One assertion for "refused before anything is sent": the call throws (not
// rejects) a ValidationError whose message names every part given.
import { expect } from 'vitest';
import { ValidationError } from '../../lib';

/** Asserts `fn` throws a ValidationError whose message contains each of `parts`. */
export function refused(fn: () => unknown, ...parts: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, parts.join(' ')).toBeInstanceOf(ValidationError);
  for (const p of parts) expect((caught as ValidationError).message).toContain(p);
}
