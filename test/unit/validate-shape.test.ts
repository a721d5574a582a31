import { describe, expect, it } from 'vitest';
import { arrayOf, between, exactly, field, mapOf, object, oneOf, problemAt, str } from '../../lib/validate/shape';

describe('shape checks (validate/shape.ts)', () => {
  const thing = object({ name: str, ports: arrayOf(between(1, 65535, 'a port 1-65535'), 'one at least') }, { kind: oneOf('a', 'b'), version: exactly(1) });
  const things = mapOf(thing, (t) => t.name);

  it('names the path to what is wrong, the root in front', () => {
    expect(problemAt('s', things, { x: { name: 'x', ports: [1] } })).toBeUndefined();
    expect(problemAt('s', things, [])).toBe('s is not an object');
    expect(problemAt('s', things, { x: { ports: [1] } })).toBe('s["x"].name is missing');
    expect(problemAt('s', things, { x: { name: 'y', ports: [1] } })).toBe('s["x"] is filed under another name than its own ("y")');
    expect(problemAt('s', things, { x: { name: 'x', ports: [] } })).toBe('s["x"].ports is empty (one at least)');
    expect(problemAt('s', things, { x: { name: 'x', ports: [1, 0] } })).toBe('s["x"].ports[1] is not a port 1-65535');
    expect(problemAt('s', things, { x: { name: 'x', ports: [1], kind: 'c' } })).toBe('s["x"].kind is not one of "a", "b"');
    expect(problemAt('s', things, { x: { name: 'x', ports: [1], version: 2 } })).toBe('s["x"].version is 2, not 1');
  });

  it('checks required fields in order, then optional ones; leaves unknown fields alone', () => {
    expect(problemAt('t', thing, { kind: 'c', other: 1 })).toBe('t.name is missing');
    expect(problemAt('t', thing, { name: 'x', ports: [80], other: {} })).toBeUndefined();
    expect(field({ a: 1 }, 'a', str)).toBe('.a is not a string');
    expect(field({}, 'a', str, true)).toBeUndefined();
  });
});
