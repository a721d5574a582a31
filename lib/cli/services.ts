/**
 * The `nlkit service ...` commands — `add`, `set`, `ls`, `rm`, `check` — a
 * thin layer over `ServiceManager` (lib/services/manager.ts) with human
 * output and `--json`, taking --host and --state-dir like the network
 * commands (the same state directory).
 * @module
 */
import type { Parsed } from './args';
import { flag, int, list, str, UsageError } from './args';
import { HOST_OPTION, STATE_DIR_OPTION, type Command, type Context } from './command';
import { table } from './format';
import { parseNetnsRef } from './specs';
import { services, type ServiceManager } from '../services/manager';
import type { EndpointSpec, Service, ServicePortSpec, ServiceProtocol, ServiceSpec } from '../services/spec';

async function withServices<T>(p: Parsed, fn: (svcs: ServiceManager) => Promise<T>): Promise<T> {
  const hostArg = str(p, HOST_OPTION.name);
  const svcs = await services({ host: hostArg === undefined ? undefined : parseNetnsRef(hostArg, '--host'), stateDir: str(p, STATE_DIR_OPTION.name) });
  try {
    return await fn(svcs);
  } finally {
    svcs.close();
  }
}

/** "80", "80:8080", "53:5353/udp" → a service port. */
export function parseServicePort(s: string): ServicePortSpec {
  const m = /^(\d+)(?::(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(s);
  if (!m) throw new UsageError(`--port ${JSON.stringify(s)}: expected PORT[:TARGETPORT][/tcp|udp|sctp]`);
  const spec: ServicePortSpec = { port: Number(m[1]) };
  if (m[2]) spec.targetPort = Number(m[2]);
  if (m[3]) spec.protocol = m[3] as ServiceProtocol;
  return spec;
}

/** "10.0.0.2", "10.0.0.2:8080=90", "fd00::2=5", "[fd00::2]:8080" → an endpoint. */
export function parseEndpoint(s: string): EndpointSpec {
  const parts = s.split('=');
  const addr = parts[0];
  const weight = parts.length > 1 ? parts[1] : undefined;
  if (parts.length > 2) throw new UsageError(`--endpoint ${JSON.stringify(s)}: one = at most`);
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(addr);
  const v4 = /^([^:]+)(?::(\d+))?$/.exec(addr);
  const m = bracketed ?? v4 ?? (addr.includes(':') ? [addr, addr] : null);
  if (!m || (weight !== undefined && !/^\d+$/.test(weight)))
    throw new UsageError(`--endpoint ${JSON.stringify(s)}: expected IP[:PORT][=WEIGHT] (IPv6 with a port in brackets)`);
  const e: EndpointSpec = { ip: m[1] };
  if (m[2]) e.port = Number(m[2]);
  if (weight !== undefined) e.weight = Number(weight);
  return e;
}

function endpointsOf(p: Parsed): EndpointSpec[] {
  const terminating = list(p, 'terminating').map(parseEndpoint);
  return [...list(p, 'endpoint').map(parseEndpoint), ...terminating.map((e) => ({ ...e, ready: false, serving: true, terminating: true }))];
}

function rows(all: Service[]): string[][] {
  return [
    ['NAME', 'ADDRESSES', 'PORTS', 'ENDPOINTS'],
    ...all.map((s) => [
      s.name,
      [...s.vips, ...s.externalIps].join(','),
      s.ports.map((p) => `${p.port}:${p.targetPort}/${p.protocol}${p.nodePort ? ` node ${p.nodePort}` : ''}`).join(','),
      s.endpoints.map((e) => `${e.ip}${e.port ? `:${e.port}` : ''}=${e.weight}${e.ready ? '' : e.terminating ? ' (terminating)' : ' (not ready)'}`).join(',') ||
        '-',
    ]),
  ];
}

function say(ctx: Context, value: unknown, text: string): void {
  if (ctx.json) ctx.emit(value);
  else ctx.say(text);
}

const serviceAdd: Command = {
  name: 'service add',
  usage: 'service add NAME --vip IP... --port PORT[:TARGET][/PROTO]... [--endpoint IP[:PORT][=WEIGHT]]... [options]',
  summary: 'Create a service (a virtual IP spread over endpoints), or replace one with --replace.',
  description:
    'Each --endpoint gets new connections in proportion to its weight (default 1; 0 drains).\n' +
    '--terminating adds an endpoint that only serves while no other is ready. Without any\n' +
    'endpoint, connections are refused at once.',
  options: [
    { name: 'vip', value: 'IP', multiple: true, help: 'a virtual IP (IPv4 or IPv6; required)' },
    { name: 'port', value: 'PORT[:TARGET][/PROTO]', multiple: true, help: 'a port (required)' },
    { name: 'endpoint', value: 'IP[:PORT][=WEIGHT]', multiple: true, help: 'a ready endpoint' },
    { name: 'terminating', value: 'IP[:PORT][=WEIGHT]', multiple: true, help: 'a serving, terminating endpoint' },
    { name: 'node-port', value: 'PORT', help: 'also answer on this port of every host address (first --port)' },
    { name: 'external-ip', value: 'IP', multiple: true, help: 'an address routed to the host that acts like a VIP' },
    { name: 'affinity', value: 'SECONDS', help: 'keep a client on its endpoint until idle that long' },
    { name: 'replace', help: 'replace an existing service of that name' },
  ],
  args: [1, 1],
  argNames: ['NAME'],
  network: true,
  examples: [
    'nlkit service add web --vip 10.96.0.10 --port 80:8080 --endpoint 10.88.0.2 --endpoint 10.88.0.3',
    'nlkit service add web --vip 10.96.0.10 --port 80:8080 --endpoint 10.88.0.2=90 --endpoint 10.88.0.3=10 --replace',
    'nlkit service add dns --vip 10.96.0.53 --port 53/udp --port 53/tcp --endpoint 10.88.0.5 --affinity 600',
  ],
  async run(ctx, p) {
    const ports = list(p, 'port').map(parseServicePort);
    if (list(p, 'vip').length === 0) throw new UsageError('missing --vip IP');
    if (ports.length === 0) throw new UsageError('missing --port PORT');
    const nodePort = int(p, 'node-port', 1, 65535);
    if (nodePort !== undefined) ports[0].nodePort = nodePort;
    const spec: ServiceSpec = { name: p.positionals[0], vips: list(p, 'vip'), externalIps: list(p, 'external-ip'), ports, endpoints: endpointsOf(p) };
    const affinity = int(p, 'affinity', 1, 86400);
    if (affinity !== undefined) spec.sessionAffinity = { timeoutSeconds: affinity };
    const svc = await withServices(p, async (svcs) => {
      await (flag(p, 'replace') ? svcs.replace(spec) : svcs.add(spec));
      return svcs.get(spec.name);
    });
    say(ctx, svc, `${flag(p, 'replace') ? 'replaced' : 'added'} service ${svc.name} (${svc.endpoints.length} endpoint(s))`);
  },
};

const serviceSet: Command = {
  name: 'service set',
  usage: 'service set NAME [--endpoint IP[:PORT][=WEIGHT]]... [--terminating ...]... [--no-cut]',
  summary: "Replace a service's endpoints (weights, conditions) in one step.",
  description: 'Connections to endpoints that are left out are cut, unless --no-cut (they finish: a drain).',
  options: [
    { name: 'endpoint', value: 'IP[:PORT][=WEIGHT]', multiple: true, help: 'a ready endpoint' },
    { name: 'terminating', value: 'IP[:PORT][=WEIGHT]', multiple: true, help: 'a serving, terminating endpoint' },
    { name: 'no-cut', help: 'let connections to removed endpoints finish' },
  ],
  args: [1, 1],
  argNames: ['NAME'],
  network: true,
  examples: ['nlkit service set web --endpoint 10.88.0.2=50 --endpoint 10.88.0.3=50', 'nlkit service set web --endpoint 10.88.0.3 --no-cut'],
  async run(ctx, p) {
    const name = p.positionals[0];
    const svc = await withServices(p, async (svcs) => {
      await svcs.set(name, { endpoints: endpointsOf(p) }, { cutFlows: !flag(p, 'no-cut') });
      return svcs.get(name);
    });
    say(ctx, svc, `service ${name}: ${svc.endpoints.length} endpoint(s)`);
  },
};

const serviceLs: Command = {
  name: 'service ls',
  usage: 'service ls [NAME]',
  summary: 'List services, their addresses, ports and endpoints.',
  options: [],
  args: [0, 1],
  argNames: ['NAME'],
  network: true,
  examples: ['nlkit service ls', 'nlkit service ls web --json'],
  async run(ctx, p) {
    const name = p.positionals.at(0);
    const all = await withServices(p, async (svcs) => (name === undefined ? svcs.list() : [await svcs.get(name)]));
    say(ctx, all, all.length ? table(rows(all)) : 'no services');
  },
};

const serviceRm: Command = {
  name: 'service rm',
  usage: 'service rm NAME... [--missing-ok] [--no-cut]',
  summary: 'Remove services (their connections are cut unless --no-cut).',
  options: [
    { name: 'missing-ok', help: 'a service that does not exist is not an error' },
    { name: 'no-cut', help: 'let established connections finish' },
  ],
  args: [1, Infinity],
  argNames: ['NAME'],
  network: true,
  examples: ['nlkit service rm web', 'nlkit service rm web dns --missing-ok'],
  async run(ctx, p) {
    const removed: string[] = [];
    await withServices(p, async (svcs) => {
      for (const name of new Set(p.positionals)) {
        if (await svcs.delete(name, { missingOk: flag(p, 'missing-ok'), cutFlows: !flag(p, 'no-cut') })) removed.push(name);
      }
    });
    say(ctx, { removed }, removed.length ? `removed service(s) ${removed.join(', ')}` : 'nothing to remove');
  },
};

const serviceCheck: Command = {
  name: 'service check',
  usage: 'service check [--repair]',
  summary: 'Compare the recorded services with the kernel; --repair fixes what differs.',
  options: [{ name: 'repair', help: 'repair the drift found (reconcile)' }],
  args: [0, 0],
  argNames: [],
  network: true,
  examples: ['nlkit service check', 'nlkit service check --repair --json'],
  async run(ctx, p) {
    const drift = await withServices(p, (svcs) => (flag(p, 'repair') ? svcs.reconcile() : svcs.check()));
    const text = drift.length ? drift.map((d) => `${d.service || '-'}: ${d.kind}: ${d.detail}`).join('\n') : 'no drift';
    say(ctx, drift, flag(p, 'repair') && drift.length ? `${text}\nrepaired` : text);
  },
};

/** The `nlkit service ...` subcommands. */
export const SERVICE_COMMANDS: Command[] = [serviceAdd, serviceSet, serviceLs, serviceRm, serviceCheck];
