/**
 * The embedded DNS responder: in the process, listening on each served
 * network's gateway addresses (UDP and TCP) in the host namespace, answering
 * each query from the names of the network whose gateway it arrived on, so
 * one network never sees another's names (Docker's user-defined networks).
 * @module
 */
import type * as dgram from 'node:dgram';
import { isIP, type Server as TcpServer } from 'node:net';
import { AddressPool } from '../network/address-pool';
import type { Attachment } from '../network/attachments';
import { bindUdp, listenTcp } from '../sockets/inet';
import { emptyStats, handleMessage, type DnsStats, type HandlerContext } from './handler';
import { NameTable } from './name-table';
import { enclosingReverse, ReverseZones } from './reverse-zones';
import { checkOptions, type CheckedOptions, type DnsResponderOptions } from './options';
import { RateLimit } from './rate-limit';
import { TcpClients } from './tcp-clients';
import { Upstreams } from './upstream';

/** What to write into a sandbox's resolv.conf (nlkit does not touch files inside sandboxes). */
export interface ResolvConf {
  /** `nameserver` lines: the network's gateway addresses. */
  nameservers: string[];
  /** The `search` line: the responder's domain (empty without one). */
  search: string[];
}

/** A running responder (see {@link dnsResponder}). */
export class DnsResponder {
  private readonly udp: dgram.Socket[] = [];
  private readonly tcp: TcpServer[] = [];
  private readonly tables = new Map<string, { at: number; table: Promise<NameTable | undefined> }>();
  private readonly counters = emptyStats();
  private readonly clients: TcpClients;
  private readonly warned = new Set<string>();
  private readonly rateLimit?: RateLimit;
  private upstreams?: Upstreams;
  /** The served networks' subnets, whose reverse names are answered here. */
  private zones = new ReverseZones([]);
  private closed = false;

  /** @internal use {@link dnsResponder} */
  constructor(private readonly opts: CheckedOptions) {
    this.clients = new TcpClients(opts.tcp, this.counters);
    if (opts.udpRateLimit) this.rateLimit = new RateLimit(opts.udpRateLimit.perSecond, opts.udpRateLimit.burst);
  }

  /** @internal */
  async start(): Promise<void> {
    const o = this.opts;
    if (o.upstreams.length > 0) this.upstreams = new Upstreams(o.upstreams, o.host, o.timeoutMs, () => this.counters.upstreamMismatches++);
    const served = await Promise.all(o.networks.map(async (network) => ({ network, n: await o.manager.get(network) })));
    this.zones = new ReverseZones(served.flatMap(({ n }) => [n.subnet, n.subnet6].filter((s): s is string => s !== undefined)));
    for (const { network, n } of served) {
      const subnets = [n.subnet, n.subnet6].filter((s): s is string => s !== undefined).map((s) => new AddressPool(s));
      const member = (address: string): boolean => {
        const plain = address.replace(/^::ffff:(?=\d+\.)/, '').replace(/%.*$/, '');
        return isIP(plain) !== 0 && subnets.some((s) => s.contains(plain));
      };
      for (const gw of [n.gateway, n.gateway6]) if (gw !== undefined) await this.listen(network, gw.split('/')[0], member);
    }
  }

  /**
   * Counters since the start: queries, answered, forwarded, refused, malformed, ...
   * @example
   * const { queries, answered, forwarded } = responder.stats();
   */
  stats(): DnsStats {
    return { ...this.counters };
  }

  /**
   * The resolver settings for an attachment's sandbox: its network's gateways as nameservers, the domain as search.
   * @example
   * const a = await nets.attach('web', { sandbox: 'c1', create: true, names: ['api'] });
   * const { nameservers, search } = responder.resolvConf(a);
   * // write `nameserver ${nameservers[0]}` and `search ${search.join(' ')}` into the container's /etc/resolv.conf
   */
  resolvConf(attachment: Pick<Attachment, 'gateway' | 'gateway6'>): ResolvConf {
    const nameservers = [attachment.gateway, attachment.gateway6].filter((g): g is string => g !== undefined).map((g) => g.split('/')[0]);
    return { nameservers, search: this.opts.domain === '' ? [] : [this.opts.domain] };
  }

  /**
   * Stops listening and forwarding; resolves when every socket is closed.
   * @example
   * await responder.close();
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.upstreams?.close();
    this.clients.closeAll();
    await Promise.all([
      ...this.udp.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      ...this.tcp.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    ]);
  }

  /** Serves one gateway address of a network; `member` tells the network's clients (queries from elsewhere are refused). */
  private async listen(network: string, address: string, member: (address: string) => boolean): Promise<void> {
    const o = this.opts;
    const ctx: HandlerContext = {
      stats: this.counters,
      ttl: o.ttl,
      maxUdpReply: o.maxUdpReply,
      upstreams: this.upstreams,
      table: () => this.table(network),
      ownsReverse: (name) => this.ownsReverse(name),
    };
    // freebind: an IPv6 gateway may still be tentative (duplicate address detection) when the responder starts.
    const udp = await bindUdp({ netns: o.host, host: address, port: o.port, freebind: true });
    this.udp.push(udp);
    udp.on('error', (e) => this.socketError(e)); // a send to a vanished client is no reason to stop
    udp.on('message', (msg, rinfo) => {
      if (this.rateLimit && !this.rateLimit.take(rinfo.address)) {
        this.counters.rateLimited++;
        return;
      }
      void handleMessage(ctx, msg, false, member(rinfo.address)).then((out) => {
        if (out && !this.closed) udp.send(out, rinfo.port, rinfo.address);
      });
    });
    const server = await listenTcp({ netns: o.host, host: address, port: o.port, freebind: true }, (sock) => {
      if (this.closed) return void sock.destroy();
      this.clients.accept(sock, member(sock.remoteAddress ?? ''), (msg) => handleMessage(ctx, msg, true, true));
    });
    server.on('error', (e) => this.socketError(e)); // accept errors (EMFILE) end one connection, not the responder
    this.tcp.push(server);
  }

  /** Counts a listening socket's error and reports it: to `onError`, else as a process warning (once per code, an EMFILE storm is one warning). */
  private socketError(e: Error): void {
    this.counters.socketErrors++;
    if (this.opts.onError) {
      this.opts.onError(e);
      return;
    }
    const code = (e as NodeJS.ErrnoException).code ?? e.message;
    if (this.warned.has(code)) return;
    this.warned.add(code);
    process.emitWarning(e, { code: 'NLKIT_DNS_SOCKET_ERROR', detail: 'the DNS responder keeps running; pass onError to see every error' });
  }

  /**
   * A reverse name the responder answers itself, whichever network asks: in
   * a served network's subnet, or an address a source lists for one (a
   * service's VIP outside the subnets), or any name below one of those
   * ("b._dns-sd._udp.0.0.97.10.in-addr.arpa"). A network whose sources fail does not count.
   */
  private async ownsReverse(name: string): Promise<boolean> {
    const zone = enclosingReverse(name.toLowerCase().replace(/\.$/, ''));
    if (!zone) return false;
    if (this.zones.covers(zone.prefix)) return true;
    if (zone.prefix.prefixLength !== zone.prefix.bytes.length * 8) return false;
    const tables = await Promise.all(this.opts.networks.map((n) => this.table(n)));
    return tables.some((t) => t?.reverse(zone.name) !== undefined);
  }

  /** The network's names: every source's records, reused for `cacheMs`. A failing source fails the query (SERVFAIL), not the responder. */
  private table(network: string): Promise<NameTable | undefined> {
    const now = Date.now();
    const cached = this.tables.get(network);
    if (cached && now - cached.at < this.opts.cacheMs) return cached.table;
    const table = Promise.all(this.opts.sources.map(async (s) => s.records(network))).then(
      (lists) => new NameTable(lists.flat(), this.opts.domain),
      () => {
        this.tables.delete(network);
        return undefined;
      },
    );
    if (this.opts.cacheMs > 0) this.tables.set(network, { at: now, table });
    return table;
  }
}

/**
 * Starts a DNS responder for networks of a manager: on each network's
 * gateway addresses (UDP and TCP, port 53 by default), in the manager's host
 * namespace. It answers A, AAAA and PTR for the names of the sandboxes on
 * that network (`attach({ names })`, default their ids) and SRV for named
 * ports of other sources, and every reverse lookup of the served networks'
 * addresses (NXDOMAIN without a name there); forwards every other name to
 * `upstreams`, or answers REFUSED without them. EDNS clients get an OPT
 * advertising `maxUdpReply`. Point sandboxes at it with
 * {@link DnsResponder.resolvConf}.
 * @example
 * const nets = await networks({ host: 'host1' });
 * const responder = await dnsResponder({ manager: nets, host: 'host1', networks: ['web'], domain: 'nlkit.internal', upstreams: ['192.0.2.53'] });
 * await nets.attach('web', { sandbox: 'c1', create: true, names: ['api'] }); // "api.nlkit.internal" from the web network
 * await responder.close();
 */
export async function dnsResponder(opts: DnsResponderOptions): Promise<DnsResponder> {
  const responder = new DnsResponder(checkOptions(opts));
  try {
    await responder.start();
  } catch (e) {
    await responder.close();
    throw e;
  }
  return responder;
}
