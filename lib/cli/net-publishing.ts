/**
 * The port-publishing commands of the CLI — `publish`, `unpublish`,
 * `publications` — each a thin layer over `NetworkManager` (lib/network/manager.ts) with human
 * output and `--json`.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { publicationKey, type BackendSpec, type Publication, type PublishSpec } from '../network/publication';
import { flag, list, str, UsageError } from './args';
import type { Command } from './command';
import { table } from './format';
import { backendsOf, mustFind, notFound, publicationRows, publishedAt } from './net-common';
import { findAttachment, parseBackend, parsePortSpec, parsePublicationRef } from './specs';

export const publish: Command = {
  name: 'publish',
  usage: 'publish NETWORK [HOSTIP:]HOSTPORT[:CONTAINERPORT][/PROTO] --to SANDBOX[:PORT][=WEIGHT]... [options]',
  summary: 'Publish a host port to a sandbox, or to several with weights (canaries).',
  description:
    'HOSTPORT may be a range (8000-8010, to one sandbox, same ports inside). PROTO is tcp\n' +
    '(default) or udp. Each --to names an attached sandbox, optionally with its own port\n' +
    'and a weight (relative share of new connections, default 1; 0 drains: no new\n' +
    'connections, established ones kept). An IPv6 host address is written in brackets:\n' +
    '[2001:db8::1]:8080:80 (::1 is refused: IPv6 cannot route loopback to a container).\n' +
    'Publishing the same thing again is a no-op;\n' +
    'with --replace an existing publication gets the new backends and weights in one\n' +
    'atomic step (established connections keep their backend).',
  options: [
    { name: 'to', value: 'SANDBOX[:PORT][=WEIGHT]', multiple: true, help: 'a backend (required)' },
    { name: 'host-ip', value: 'IP', help: 'publish on this host address only, e.g. 127.0.0.1' },
    { name: 'replace', help: 'change the backends of an existing publication' },
  ],
  args: [2, 2],
  argNames: ['NETWORK', 'HOSTPORT'],
  network: true,
  examples: [
    'nlkit publish web 8080:80 --to c1                     # host :8080 -> c1:80',
    'nlkit publish web 80 --to c1=90 --to c2=10            # 90/10 canary',
    'nlkit publish web 80 --to c1=50 --to c2=50 --replace  # shift the weights',
    'nlkit publish web 127.0.0.1:5353:53/udp --to dns      # local-only UDP',
    'nlkit publish web 8000-8010 --to c1                   # a port range',
  ],
  async run(ctx, p) {
    const [network, portArg] = p.positionals;
    const port = parsePortSpec(portArg);
    const hostIp = str(p, 'host-ip');
    if (hostIp !== undefined && port.hostIp !== undefined && hostIp !== port.hostIp) throw new UsageError(`--host-ip ${hostIp} contradicts ${portArg}`);
    const tos = list(p, 'to').map(parseBackend);
    if (tos.length === 0) throw new UsageError('missing --to SANDBOX (the backend)');
    const nets = await ctx.manager();
    const info = await mustFind(nets, network);
    const backends: BackendSpec[] = tos.map((b) => {
      const spec: BackendSpec = { id: findAttachment(b.sandbox, info.attachments)?.id ?? b.sandbox };
      if (b.port !== undefined) spec.port = b.port;
      if (b.weight !== undefined) spec.weight = b.weight;
      return spec;
    });
    const spec: PublishSpec = { network, hostPort: port.hostPort };
    if (port.protocol) spec.protocol = port.protocol;
    if (hostIp ?? port.hostIp) spec.hostIp = hostIp ?? port.hostIp;
    if (port.containerPort !== undefined) spec.containerPort = port.containerPort;
    if (backends.length === 1 && backends[0].port === undefined && backends[0].weight === undefined) spec.to = backends[0].id;
    else spec.backends = backends;

    const key = publicationKey(spec);
    const existing = (await nets.publications.list()).find((x) => x.key === key);
    let pub: Publication;
    let verb = 'published';
    if (flag(p, 'replace') && existing) {
      if (existing.network !== network) throw new ValidationError('port', portArg, `is published on network ${existing.network}, not ${network}`);
      const cport = spec.containerPort;
      pub = await nets.setBackends(
        existing,
        backends.map((b) => (b.port === undefined && cport !== undefined ? { ...b, port: cport } : b)),
      );
      verb = 'replaced';
    } else {
      pub = await nets.publish(spec);
    }
    if (ctx.json) {
      ctx.emit(pub);
      return;
    }
    ctx.say(`${verb} ${publishedAt(pub)} on network ${pub.network} -> ${backendsOf(pub)}`);
  },
};

export const unpublish: Command = {
  name: 'unpublish',
  usage: 'unpublish NETWORK [HOSTIP:]HOSTPORT[/PROTO]... [--host-ip IP] [--missing-ok]',
  summary: 'Stop publishing ports (and cut their tracked connections).',
  description: 'A port is named as published (8080, 5353/udp, 127.0.0.1:8080) or by its key as listed by\n`nlkit publications --json` (tcp:*:8080).',
  options: [
    { name: 'host-ip', value: 'IP', help: 'the host address it was published on' },
    { name: 'missing-ok', help: 'a port that is not published is not an error' },
  ],
  args: [2, Infinity],
  argNames: ['NETWORK', 'HOSTPORT'],
  network: true,
  examples: ['nlkit unpublish web 8080', 'nlkit unpublish web 127.0.0.1:5353/udp 80'],
  async run(ctx, p) {
    const [network, ...ports] = p.positionals;
    const hostIp = str(p, 'host-ip');
    const refs = ports.map((s) => {
      const r = parsePublicationRef(s);
      if (hostIp !== undefined && r.hostIp !== undefined && r.hostIp !== hostIp) throw new UsageError(`--host-ip ${hostIp} contradicts ${s}`);
      return { ...r, hostIp: r.hostIp ?? hostIp };
    });
    const nets = await ctx.manager();
    await mustFind(nets, network);
    const pubs = await nets.publications.list();
    const todo: Publication[] = [];
    for (const [i, r] of refs.entries()) {
      const key = publicationKey(r);
      const pub = pubs.find((x) => x.key === key && x.network === network);
      if (pub) todo.push(pub);
      else if (!flag(p, 'missing-ok')) {
        const there = pubs.filter((x) => x.network === network).map(publishedAt);
        throw notFound(
          'publication',
          `${JSON.stringify(ports[i])} is not published on network ${network} (published there: ${there.length ? there.join(', ') : 'nothing'})`,
        );
      }
    }
    for (const pub of todo) {
      await nets.unpublish(pub);
      if (!ctx.json) ctx.say(`unpublished ${publishedAt(pub)} on network ${network}`);
    }
    if (ctx.json) ctx.emit({ network, unpublished: todo.map((x) => x.key) });
    else if (!todo.length) ctx.say('nothing to unpublish');
  },
};

export const publications: Command = {
  name: 'publications',
  usage: 'publications [NETWORK]',
  summary: 'List published ports and their backends.',
  options: [],
  args: [0, 1],
  argNames: ['NETWORK'],
  network: true,
  examples: ['nlkit publications', 'nlkit publications web --json'],
  async run(ctx, p) {
    const nets = ctx.records(); // reads the records only: no socket
    const network = p.positionals.at(0);
    if (network !== undefined) await mustFind(nets, network);
    const pubs = await nets.publications.list(network === undefined ? {} : { network });
    if (ctx.json) {
      ctx.emit(pubs);
      return;
    }
    ctx.say(pubs.length ? table(publicationRows(pubs, true)) : 'no published ports');
  },
};
