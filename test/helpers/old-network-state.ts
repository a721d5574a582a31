// A state directory as nlkit 0.1.0 wrote it, for the upgrade tests: its network records have no bridge `mac`
// (0.1.0 recorded none and marked no bridge), and every network is on a /24 with the gateway at .1.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** One 0.1.0 network: its name, bridge name, the /24's first three octets ("10.96.7") and interface group. */
export interface OldNetwork {
  name: string;
  bridge: string;
  net24: string;
  group: number;
}

/** A new state directory (mode 0700, the caller removes it) holding `nets` as 0.1.0 recorded them, none attached. */
export function oldNetworkState(...nets: OldNetwork[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-net-'));
  const record = ({ name, bridge, net24, group }: OldNetwork) => ({
    name,
    bridge,
    subnet: `${net24}.0/24`,
    gateway: `${net24}.1`,
    internal: false,
    isolate: false,
    masquerade: true,
    group,
    created: new Date().toISOString(),
  });
  const state = {
    version: 1,
    networks: Object.fromEntries(nets.map((n) => [n.name, record(n)])),
    attachments: Object.fromEntries(nets.map((n) => [n.name, {}])),
    publications: {},
  };
  fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state), { mode: 0o600 });
  return dir;
}
