// Probing real traffic from a test namespace.
import { connectTcp } from '../../lib';

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
