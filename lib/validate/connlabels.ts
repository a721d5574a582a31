/**
 * Conntrack label names (`ct label "web"`): nft and iptables map them to
 * label bits with connlabel.conf, lines of `<bit> <name>` (bit 0-127,
 * decimal or 0x hex; `#` starts a comment). nft reads /etc/connlabel.conf,
 * iptables /etc/xtables/connlabel.conf; nlkit reads the first of the two
 * that exists, when a rule names a label without giving its own map. The
 * file is input nlkit does not control: a line that is not a label is a
 * ValidationError naming the file and line, never skipped.
 * @module
 */
import * as fs from 'node:fs';
import { ValidationError } from '../netlink/errors';
import { isObject } from './options';

/** Label bits by name, as connlabel.conf maps them (`{ web: 3 }`). */
export type CtLabelMap = Readonly<Record<string, number>>;

/** Where nft (first) and iptables look for the label names. */
export const CONNLABEL_PATHS: readonly string[] = ['/etc/connlabel.conf', '/etc/xtables/connlabel.conf'];

/** NF_CT_LABELS_MAX_SIZE: 128 label bits. */
export const CT_LABEL_BITS = 128;

/** A name nft can parse back: printable, no white space, quote or comment sign. */
const LABEL_NAME = /^[\x21\x24-\x7e]{1,64}$/;
const LINE = /^\s*(0x[0-9a-fA-F]+|\d+)\s+(\S+)\s*(?:#.*)?$/;

/**
 * Parses connlabel.conf text into label bits by name; `source` names it in errors.
 * @example
 * nft.parseConnlabels('0 established-by-proxy\n3 web # front end\n'); // { 'established-by-proxy': 0, web: 3 }
 */
export function parseConnlabels(text: string, source = 'connlabel.conf'): CtLabelMap {
  if (typeof text !== 'string') throw new ValidationError('connlabel.conf', text, 'must be the text of the file');
  const labels: Record<string, number> = Object.create(null) as Record<string, number>;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*(#.*)?$/.test(line)) return;
    const where = `${source} line ${i + 1}`;
    const m = LINE.exec(line);
    if (!m) throw new ValidationError(where, line, 'must be "<bit> <name>" (bit 0-127), a comment or blank');
    const bit = Number(m[1]);
    const name = m[2];
    if (bit >= CT_LABEL_BITS) throw new ValidationError(where, line, `bit ${m[1]} is above ${CT_LABEL_BITS - 1}`);
    if (!LABEL_NAME.test(name)) throw new ValidationError(where, line, 'the name must be 1-64 printable characters without quotes or #');
    if (name in labels && labels[name] !== bit) throw new ValidationError(where, line, `"${name}" is already bit ${labels[name]}`);
    labels[name] = bit;
  });
  return labels;
}

/**
 * Reads label names from a connlabel.conf: `path`, or the first of
 * /etc/connlabel.conf and /etc/xtables/connlabel.conf that exists ({} when
 * neither does).
 * @example
 * const labels = nft.readConnlabels(); // what `nft add rule ... ct label set web` would use
 * rule().setCtLabel('web', { labels });
 */
export function readConnlabels(path?: string): CtLabelMap {
  if (path !== undefined && typeof path !== 'string') throw new ValidationError('connlabel.conf path', path, 'must be a file path');
  const file = path ?? CONNLABEL_PATHS.find((p) => fs.existsSync(p));
  if (file === undefined) return {};
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ValidationError('connlabel.conf path', file, `cannot be read: ${(e as Error).message}`);
  }
  return parseConnlabels(text, file);
}

/** The bit of a label given by number (checked by the caller) or by name (`labels`, else the system's connlabel.conf). */
export function labelBitOf(label: number | string, field: string, labels?: CtLabelMap): number {
  if (labels !== undefined && (!isObject(labels) || Array.isArray(labels)))
    throw new ValidationError('labels', labels, 'must map label names to bits ({ web: 3 })');
  if (typeof label !== 'string') return label;
  const map = labels ?? readConnlabels();
  const bit = Object.hasOwn(map, label) ? map[label] : undefined;
  if (bit === undefined) {
    const where = labels ? 'the labels given' : `connlabel.conf (${CONNLABEL_PATHS.join(', ')})`;
    throw new ValidationError(field, label, `is not a label name in ${where}; give the bit (0-${CT_LABEL_BITS - 1}) or labels: { name: bit }`);
  }
  return bit;
}
