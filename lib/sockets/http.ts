/**
 * A small HTTP/1.1 client that connects from inside a namespace (over
 * {@link connectTcp}), for probing services in sandboxes.
 * @module
 */
import * as http from 'node:http';
import type { NetnsRef } from '../netns/namespace';
import { connectTcp } from './inet';

/** Options of {@link httpGet}. */
export interface HttpGetOptions {
  /** Namespace to connect from; default the caller's. */
  netns?: NetnsRef;
  /** Server address (an IP address). */
  host: string;
  /** Server port (default 80). */
  port?: number;
  /** Request path (default "/"). */
  path?: string;
  /** Extra request headers (`connection: close` is always sent). */
  headers?: Record<string, string>;
  /** Connect and response timeout (default 5000 ms). */
  timeoutMs?: number;
}

/** What {@link httpGet} resolves with. */
export interface HttpResponse {
  /** HTTP status code. */
  status: number;
  /** Response headers (lower-cased names). */
  headers: http.IncomingHttpHeaders;
  /** The body, decoded as UTF-8. */
  body: string;
}

/**
 * GETs a URL path from inside a namespace.
 * @example
 * const res = await httpGet({ netns: 'c2', host: '10.0.0.2', port: 8080, path: '/' });
 */
export async function httpGet(opts: HttpGetOptions): Promise<HttpResponse> {
  const port = opts.port ?? 80;
  const socket = await connectTcp({ netns: opts.netns, host: opts.host, port, timeoutMs: opts.timeoutMs });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: opts.host,
        port,
        path: opts.path ?? '/',
        headers: { connection: 'close', ...opts.headers },
        createConnection: () => socket,
        timeout: opts.timeoutMs ?? 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${opts.host}:${port}${opts.path ?? '/'}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}
