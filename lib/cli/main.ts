/**
 * The `nlkit` command line: `nlkit demo`, `nlkit --help`.
 * @module
 */
import { NlkitError } from '../netlink/errors';
import { runDemo } from './demo';

const HELP = `nlkit — Linux networking over netlink, from Node.js

Usage:
  nlkit demo        build a two-container bridge network in throw-away
                    namespaces, serve HTTP across it, report, clean up
  nlkit --help      this text
  nlkit --version   the package version

Everything runs inside namespaces the command creates; needs root
(CAP_NET_ADMIN and CAP_SYS_ADMIN).`;

export async function main(argv: string[]): Promise<number> {
  const [cmd] = argv;
  try {
    switch (cmd) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        console.log(HELP);
        return 0;
      case '-v':
      case '--version':
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        console.log(require('../../package.json').version);
        return 0;
      case 'demo':
        await runDemo();
        return 0;
      default:
        console.error(`nlkit: unknown command ${JSON.stringify(cmd)} (see nlkit --help)`);
        return 2;
    }
  } catch (e) {
    const msg = e instanceof NlkitError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
    console.error(`nlkit ${cmd}: ${msg}`);
    return 1;
  }
}
