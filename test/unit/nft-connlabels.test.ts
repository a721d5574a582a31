// connlabel.conf is input nlkit does not control: what it accepts, what it
// refuses (with the file and line), and label names in the builder, refused
// before anything is built when unknown.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError, nft, rule } from '../../lib';

describe('connlabel.conf', () => {
  it('parses bits (decimal, hex), names, comments and blank lines', () => {
    expect(nft.parseConnlabels('# c\n\n  0 a\n3\tweb   # trailing\n0x7f z\r\n')).toEqual({ a: 0, web: 3, z: 127 });
    expect(nft.parseConnlabels('1 x\n1 x\n')).toEqual({ x: 1 });
  });

  it.each([
    ['web', 'line 1'],
    ['3', 'line 1'],
    ['0 a\n128 b', 'line 2'],
    ['-1 a', 'line 1'],
    ['1 a b', 'line 1'],
    ['1 "a"', 'line 1'],
    ['1 a\n2 a', 'already bit 1'],
    [`1 ${'x'.repeat(65)}`, 'line 1'],
  ])('refuses %j naming the line', (text, where) => {
    expect(() => nft.parseConnlabels(text, '/etc/connlabel.conf')).toThrow(ValidationError);
    expect(() => nft.parseConnlabels(text, '/etc/connlabel.conf')).toThrow(where);
  });

  it('reads a file; a malformed one names the file and line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-connlabel-'));
    try {
      const good = path.join(dir, 'good.conf');
      const bad = path.join(dir, 'bad.conf');
      fs.writeFileSync(good, '5 five\n');
      fs.writeFileSync(bad, '5 five\nsix 6\n');
      expect(nft.readConnlabels(good)).toEqual({ five: 5 });
      expect(() => nft.readConnlabels(bad)).toThrow(`${bad} line 2`);
      expect(() => nft.readConnlabels(path.join(dir, 'missing.conf'))).toThrow(/cannot be read/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('label names in the builder: looked up in the given map, unknown ones refused when the method is called', () => {
    const labels = { web: 3 };
    expect(rule().setCtLabel('web', { labels }).toExpressions('inet')).toEqual(rule().setCtLabel(3).toExpressions('inet'));
    expect(rule().ct({ label: 'web', labels }).toExpressions('inet')).toEqual(rule().ct({ label: 3 }).toExpressions('inet'));
    expect(() => rule().setCtLabel('db', { labels })).toThrow(/ct label.*"db".*not a label name in the labels given/);
    expect(() => rule().setCtLabel('web', { labels: { web: 128 } })).toThrow(ValidationError);
    expect(() => rule().setCtLabel('web', { lables: labels } as never)).toThrow(/lables/);
    expect(() => rule().ct({ label: 'web', labels: [] as never })).toThrow(/labels/);
    // Without a map: the system's connlabel.conf (none on the test machine: every name is unknown).
    if (!fs.existsSync('/etc/connlabel.conf') && !fs.existsSync('/etc/xtables/connlabel.conf')) {
      expect(() => rule().setCtLabel('web')).toThrow(/not a label name in connlabel.conf \(\/etc\/connlabel.conf/);
    }
  });
});
