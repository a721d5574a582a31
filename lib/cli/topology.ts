/**
 * `nlkit topology`: reads namespaces, links, bridges, veth pairs, addresses
 * and routes over netlink and draws them — Mermaid, Graphviz DOT, or a
 * self-contained SVG / HTML page (no external renderer needed).
 * @module
 */
import { open } from '../handle';
import { listNetns } from '../netns/namespace';
import type { Link } from '../rtnetlink/link';

export interface TopoLink {
  index: number;
  name: string;
  kind: string;
  up: boolean;
  addresses: string[];
  master?: string;
  parentIndex?: number;
}

export interface TopoNamespace {
  /** The real namespace name. */
  name: string;
  /** What to call it in the picture. */
  label: string;
  links: TopoLink[];
  routes: string[];
  /** Extra lines (published ports, ...). */
  notes: string[];
}

export interface TopoEdge {
  from: { ns: string; link: string };
  to: { ns: string; link: string };
  kind: 'veth' | 'port';
}

export interface Topology {
  namespaces: TopoNamespace[];
  edges: TopoEdge[];
}

export interface GatherOptions {
  /** Namespaces to include (default: every named namespace). */
  netns?: string[];
  /** Display labels by namespace name. */
  labels?: Record<string, string>;
  /** Extra notes by namespace name (e.g. published ports). */
  notes?: Record<string, string[]>;
  /** Hide loopback (default true). */
  hideLoopback?: boolean;
}

/** Reads the topology of the given namespaces over netlink. */
export async function gatherTopology(opts: GatherOptions = {}): Promise<Topology> {
  const names = opts.netns ?? (await listNetns());
  const namespaces: TopoNamespace[] = [];
  const raw = new Map<string, Link[]>();
  for (const name of names) {
    const h = await open({ netns: name });
    try {
      const [links, addrs, routes] = await Promise.all([h.links.list(), h.addresses.list(), h.routes.list()]);
      raw.set(name, links);
      const byIndex = new Map(links.map((l) => [l.index, l.name]));
      namespaces.push({
        name,
        label: opts.labels?.[name] ?? name,
        links: links
          .filter((l) => !(opts.hideLoopback ?? true) || l.linkType !== 772)
          .map((l) => ({
            index: l.index,
            name: l.name,
            kind: l.kind ?? (l.linkType === 772 ? 'loopback' : 'device'),
            up: l.up,
            addresses: addrs.filter((a) => a.link === l.index && a.scope !== 'link').map((a) => a.cidr),
            master: l.master !== undefined ? byIndex.get(l.master) : undefined,
            parentIndex: l.parentIndex,
          })),
        routes: routes
          .filter((r) => r.protocol !== 'kernel')
          .map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.link !== undefined ? ` dev ${r.linkName ?? byIndex.get(r.link) ?? r.link}` : ''}`),
        notes: opts.notes?.[name] ?? [],
      });
    } finally {
      h.close();
    }
  }
  const edges: TopoEdge[] = [];
  const seen = new Set<string>();
  for (const ns of namespaces) {
    for (const l of ns.links) {
      if (l.master) edges.push({ from: { ns: ns.name, link: l.name }, to: { ns: ns.name, link: l.master }, kind: 'port' });
      if (l.kind !== 'veth' || l.parentIndex === undefined) continue;
      // The peer is the veth whose index is our parent and whose parent is us.
      for (const other of namespaces) {
        const peer = (raw.get(other.name) ?? []).find(
          (m) => m.kind === 'veth' && m.index === l.parentIndex && m.parentIndex === l.index && !(other.name === ns.name && m.name === l.name),
        );
        if (!peer) continue;
        const key = [`${ns.name}/${l.name}`, `${other.name}/${peer.name}`].sort().join('|');
        if (!seen.has(key)) {
          seen.add(key);
          edges.push({ from: { ns: ns.name, link: l.name }, to: { ns: other.name, link: peer.name }, kind: 'veth' });
        }
        break;
      }
    }
  }
  return { namespaces, edges };
}

const id = (ns: string, link: string) => `n_${ns}_${link}`.replace(/[^A-Za-z0-9_]/g, '_');
/** Node ids use labels, so pictures of throw-away namespaces are reproducible. */
const labelOf = (t: Topology, ns: string) => t.namespaces.find((n) => n.name === ns)?.label ?? ns;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Mermaid flowchart (renders on GitHub). */
export function toMermaid(t: Topology): string {
  const out = ['flowchart LR'];
  for (const ns of t.namespaces) {
    out.push(`  subgraph ${id(ns.label, '')}["${ns.label}"]`);
    for (const l of ns.links) {
      const text = [`${l.name} (${l.kind})`, ...l.addresses].join('<br/>');
      out.push(`    ${id(ns.label, l.name)}["${text}"]`);
    }
    ns.notes.forEach((n, i) => out.push(`    ${id(ns.label, `note${i}`)}>"${n}"]`));
    out.push('  end');
  }
  for (const e of t.edges) {
    out.push(`  ${id(labelOf(t, e.from.ns), e.from.link)} ${e.kind === 'veth' ? '---' : '-.-'} ${id(labelOf(t, e.to.ns), e.to.link)}`);
  }
  return out.join('\n') + '\n';
}

/** Graphviz DOT, one cluster per namespace. */
export function toDot(t: Topology): string {
  const out = ['graph nlkit {', '  rankdir=LR; node [shape=box, fontname="Helvetica"];'];
  t.namespaces.forEach((ns, i) => {
    out.push(`  subgraph cluster_${i} { label="${ns.label}";`);
    for (const l of ns.links) out.push(`    ${id(ns.label, l.name)} [label="${[`${l.name} (${l.kind})`, ...l.addresses].join('\\n')}"];`);
    out.push('  }');
  });
  for (const e of t.edges) {
    out.push(`  ${id(labelOf(t, e.from.ns), e.from.link)} -- ${id(labelOf(t, e.to.ns), e.to.link)}${e.kind === 'port' ? ' [style=dashed]' : ''};`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}

/** A self-contained SVG: one column per namespace, veth pairs solid, bridge ports dashed. */
export function toSvg(t: Topology): string {
  const colW = 230;
  const gap = 90;
  const boxH = 46;
  const head = 34;
  const pos = new Map<string, { x: number; y: number }>();
  const parts: string[] = [];
  let height = 0;
  // Namespaces with bridges (the "hosts") on the left, everything else
  // stacked on the right: veth pairs then run left to right without crossing boxes.
  const hosts = t.namespaces.filter((n) => n.links.some((l) => l.kind === 'bridge'));
  const left = hosts.length ? hosts : t.namespaces.slice(0, 1);
  const columns = t.namespaces.length > left.length ? 2 : 1;
  const tops = new Map<string, { x: number; top: number }>();
  const nsHeight = (ns: TopoNamespace) => head + (ns.links.length + ns.notes.length) * (boxH + 10) + 10 + (ns.routes.length ? 16 * ns.routes.length + 8 : 0);
  let yLeft = 20;
  let yRight = 20;
  for (const ns of t.namespaces) {
    if (left.includes(ns)) {
      tops.set(ns.name, { x: 20, top: yLeft });
      yLeft += nsHeight(ns) + 20;
    } else {
      tops.set(ns.name, { x: 20 + colW + gap, top: yRight });
      yRight += nsHeight(ns) + 20;
    }
  }
  t.namespaces.forEach((ns) => {
    const placed = tops.get(ns.name);
    if (!placed) throw new Error(`namespace ${ns.name} was not placed`); // every namespace is placed above
    const { x, top } = placed;
    const rows = ns.links.length + ns.notes.length;
    const h = nsHeight(ns);
    height = Math.max(height, top + h + 20);
    parts.push(`<rect x="${x}" y="${top}" width="${colW}" height="${h}" rx="10" fill="#f4f6fb" stroke="#7a869a"/>`);
    parts.push(`<text x="${x + 12}" y="${top + 22}" font-weight="bold" font-size="14">${esc(ns.label)}</text>`);
    ns.links.forEach((l, j) => {
      const y = top + head + j * (boxH + 10);
      pos.set(`${ns.name}/${l.name}`, { x, y });
      const fill = l.kind === 'bridge' ? '#dbe8ff' : l.kind === 'veth' ? '#e3f5e1' : '#ffffff';
      parts.push(`<rect x="${x + 10}" y="${y}" width="${colW - 20}" height="${boxH}" rx="6" fill="${fill}" stroke="${l.up ? '#3d7a3d' : '#a33'}"/>`);
      parts.push(
        `<text x="${x + 20}" y="${y + 18}" font-size="12" font-weight="bold">${esc(l.name)} <tspan font-weight="normal" fill="#555">${esc(l.kind)}${l.up ? '' : ' (down)'}</tspan></text>`,
      );
      parts.push(`<text x="${x + 20}" y="${y + 36}" font-size="11" fill="#333">${esc(l.addresses.join(', ') || ' ')}</text>`);
    });
    ns.notes.forEach((n, j) => {
      const y = top + head + (ns.links.length + j) * (boxH + 10);
      parts.push(`<rect x="${x + 10}" y="${y}" width="${colW - 20}" height="${boxH}" rx="6" fill="#fff6d9" stroke="#b58900"/>`);
      parts.push(`<text x="${x + 20}" y="${y + 27}" font-size="11">${esc(n)}</text>`);
    });
    ns.routes.forEach((r, j) => {
      const y = top + head + rows * (boxH + 10) + 16 + j * 16;
      parts.push(`<text x="${x + 14}" y="${y}" font-size="10" fill="#555">${esc(r)}</text>`);
    });
  });
  for (const e of t.edges) {
    const a = pos.get(`${e.from.ns}/${e.from.link}`);
    const b = pos.get(`${e.to.ns}/${e.to.link}`);
    if (!a || !b) continue;
    const dash = e.kind === 'port' ? ' stroke-dasharray="5,4"' : '';
    if (a.x === b.x) {
      // same namespace: an arc on the left side
      const ya = a.y + boxH / 2;
      const yb = b.y + boxH / 2;
      parts.push(`<path d="M ${a.x + 10} ${ya} C ${a.x - 12} ${ya}, ${a.x - 12} ${yb}, ${b.x + 10} ${yb}" fill="none" stroke="#556"${dash}/>`);
    } else {
      const [l, r] = a.x < b.x ? [a, b] : [b, a];
      parts.push(`<line x1="${l.x + colW - 10}" y1="${l.y + boxH / 2}" x2="${r.x + 10}" y2="${r.y + boxH / 2}" stroke="#2b6cb0" stroke-width="2"${dash}/>`);
    }
  }
  const width = 40 + columns * (colW + gap) - gap;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
  );
}

/** A standalone HTML page with the SVG and the routes. */
export function toHtml(t: Topology): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>nlkit topology</title></head>\n<body style="font-family: Helvetica, Arial, sans-serif">\n<h1>Network topology</h1>\n${toSvg(t)}\n</body></html>\n`;
}

export type TopologyFormat = 'mermaid' | 'dot' | 'svg' | 'html' | 'json';

export function renderTopology(t: Topology, format: TopologyFormat): string {
  switch (format) {
    case 'mermaid':
      return toMermaid(t);
    case 'dot':
      return toDot(t);
    case 'svg':
      return toSvg(t);
    case 'html':
      return toHtml(t);
    case 'json':
      return JSON.stringify(t, null, 2) + '\n';
  }
}

/** The format a file name asks for. */
export function formatFromPath(file: string): TopologyFormat {
  const ext = file.split('.').pop();
  if (ext === 'svg' || ext === 'html' || ext === 'dot' || ext === 'json') return ext;
  if (ext === 'gv') return 'dot';
  return 'mermaid';
}
