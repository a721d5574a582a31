/**
 * The `nlkit` command line: `nlkit demo`, `nlkit --help`.
 * @module
 */
import * as fs from 'node:fs';
import { NlkitError, ValidationError } from '../netlink/errors';
import { parseArgs } from './args';
import { runDemo } from './demo';
import { formatFromPath, gatherTopology, renderTopology, type TopologyFormat } from './topology';

const HELP = `nlkit — Linux networking over netlink, from Node.js

Usage:
  nlkit demo [--topology FILE]
                    build a two-container bridge network in throw-away
                    namespaces, serve HTTP across it, report, clean up;
                    --topology writes its picture (.svg, .html, .dot, .mmd)
  nlkit topology [--netns a,b,...] [--format mermaid|dot|svg|html|json] [--output FILE]
                    draw namespaces, links, bridges, veth pairs, addresses
                    and routes (default: every named namespace, Mermaid)
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
      case 'demo': {
        const { options } = parseArgs(argv.slice(1), ['topology']);
        await runDemo(undefined, { topologyFile: options.topology as string | undefined });
        return 0;
      }
      case 'topology': {
        const { options } = parseArgs(argv.slice(1), ['netns', 'format', 'output']);
        const file = options.output as string | undefined;
        const format = (options.format as TopologyFormat | undefined) ?? (file ? formatFromPath(file) : 'mermaid');
        if (!['mermaid', 'dot', 'svg', 'html', 'json'].includes(format)) throw new ValidationError('--format', format, 'mermaid, dot, svg, html or json');
        const netns = options.netns ? String(options.netns).split(',').filter(Boolean) : undefined;
        const text = renderTopology(await gatherTopology({ netns }), format);
        if (file) fs.writeFileSync(file, text);
        else process.stdout.write(text);
        return 0;
      }
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
