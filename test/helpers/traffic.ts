// Probing real traffic from a test namespace.
import type * as net from 'node:net';
import { bindUdp, connectTcp, listenTcp } from '../../lib';

/** Connects, reads until the server closes, returns the text (or `error:CODE`). */
export async function hello(netns: string, host: string, port: number, timeoutMs = 1500): Promise<string> {
  try {
    const s = await connectTcp({ netns, host, port, timeoutMs });
    let d = '';
    s.on('data', (x) => (d += x));
    await new Promise((resolve) => s.on('close', resolve));
    return d;
  } catch (e) {
    return `error:${(e as { code?: string }).code}`;
  }
}

/**
 * A transparent (IP_TRANSPARENT) TCP listener on every address of `netns`
 * that answers each connection with the address it was made to (its local
 * address: under TPROXY, the original destination) and closes it.
 */
export function transparentEcho(netns: string, port: number): Promise<net.Server> {
  return listenTcp({ netns, host: '0.0.0.0', port, transparent: true }, (s) => {
    s.end(`${s.localAddress ?? ''}:${s.localPort ?? ''}`);
  });
}

/**
 * Sends one UDP datagram from `netns` and returns the answer as
 * "text <- address:port" (who answered), or `timeout`; `from` binds the
 * sending socket to a port (and marks it, as a proxy's upstream).
 */
export async function udpAsk(
  netns: string,
  host: string,
  port: number,
  text: string,
  timeoutMs = 1500,
  from: { port?: number; mark?: number } = {},
): Promise<string> {
  const sock = await bindUdp({ netns, host: host.includes(':') ? '::' : '0.0.0.0', ...from });
  try {
    return await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      sock.once('message', (msg, rinfo) => {
        clearTimeout(timer);
        resolve(`${String(msg)} <- ${rinfo.address}:${rinfo.port}`);
      });
      sock.send(text, port, host);
    });
  } finally {
    sock.close();
  }
}
