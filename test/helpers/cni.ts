// Driving nlkit-cni as a runtime does: the plugin executable with CNI_*
// variables and a configuration on stdin, run inside the test's host
// namespace (ip netns exec), or the libcni driver (test/cni/driver) built
// with the packaged Go. Plugin directories, the result cache and the state
// live in a temporary directory the test removes.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '..', '..');
/** Where Debian's containernetworking-plugins put the reference plugins. */
export const REFERENCE_PLUGINS = '/usr/lib/cni';

/** A scratch directory with bin/ (nlkit-cni linked in), cache/ and state/. */
export interface CniScratch {
  dir: string;
  binDir: string;
  cacheDir: string;
  stateDir: string;
  /** CNI_PATH: nlkit-cni first, then the reference plugins. */
  cniPath: string;
  remove(): void;
}

export function cniScratch(): CniScratch {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-cni-'));
  const binDir = path.join(dir, 'bin');
  fs.mkdirSync(binDir);
  fs.symlinkSync(path.join(root, 'bin', 'nlkit-cni.js'), path.join(binDir, 'nlkit-cni'));
  const cacheDir = path.join(dir, 'cache');
  const stateDir = path.join(dir, 'state');
  return { dir, binDir, cacheDir, stateDir, cniPath: `${binDir}:${REFERENCE_PLUGINS}`, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface PluginCall {
  command: string;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  cniPath?: string;
  /** More environment (NLKIT_FAULT_AFTER_STEP for crash tests). */
  env?: Record<string, string>;
}

export interface PluginOutput {
  status: number | null;
  /** The signal that ended it (SIGKILL: a fault-injection point). */
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json: any;
}

/** The CNI_* environment of a call. */
function pluginEnv(call: PluginCall): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CNI_COMMAND: call.command, CNI_PATH: call.cniPath ?? REFERENCE_PLUGINS, ...call.env };
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
  if (call.netns !== undefined) env.CNI_NETNS = call.netns;
  if (call.ifname !== undefined) env.CNI_IFNAME = call.ifname;
  if (call.args !== undefined) env.CNI_ARGS = call.args;
  return env;
}

/** Runs bin/nlkit-cni.js once in namespace `host` with the CNI environment of `call` and `config` on stdin. */
export function runPlugin(host: string, call: PluginCall, config: unknown): PluginOutput {
  const env = pluginEnv(call);
  const r = spawnSync('ip', ['netns', 'exec', host, process.execPath, path.join(root, 'bin', 'nlkit-cni.js')], {
    input: typeof config === 'string' ? config : JSON.stringify(config),
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  let json: unknown;
  try {
    json = r.stdout.trim() === '' ? undefined : JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, json };
}

/** Like runPlugin, without blocking: for calls that run at the same time, as a runtime starting several containers does. */
export function runPluginAsync(host: string, call: PluginCall, config: unknown): Promise<PluginOutput> {
  const env = pluginEnv(call);
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', host, process.execPath, path.join(root, 'bin', 'nlkit-cni.js')], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (status) => {
      let json: unknown;
      try {
        json = stdout.trim() === '' ? undefined : JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ status, stdout, stderr, json });
    });
    child.stdin.end(JSON.stringify(config));
  });
}

/** Builds the libcni driver with the packaged Go, offline (GOPATH mode over /usr/share/gocode); returns its path. */
export function buildDriver(scratch: CniScratch): string {
  const out = path.join(scratch.dir, 'driver');
  execFileSync('go', ['build', '-o', out, '.'], {
    cwd: path.join(root, 'test', 'cni', 'driver'),
    env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: path.join(scratch.dir, 'gocache'), GOFLAGS: '' },
    stdio: 'pipe',
  });
  return out;
}

/** Runs the driver in namespace `host`: `add` prints the result (parsed here), the rest nothing; a failure throws with libcni's message. */
export function runDriver(scratch: CniScratch, driver: string, host: string, args: string[]): any {
  const r = spawnSync('ip', ['netns', 'exec', host, driver, ...args], {
    env: { ...process.env, CNI_PATH: scratch.cniPath, CNI_CACHE_DIR: scratch.cacheDir },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`driver ${args[0]} failed (${String(r.status)}): ${r.stderr.trim()}`);
  return r.stdout.trim() === '' ? undefined : JSON.parse(r.stdout);
}

/** Writes a conflist into the scratch directory; returns its path. */
export function writeConflist(scratch: CniScratch, name: string, conflist: unknown): string {
  const file = path.join(scratch.dir, `${name}.conflist`);
  fs.writeFileSync(file, JSON.stringify(conflist, null, 2));
  return file;
}

/** The IPAM allocations recorded for a network: address → owner. */
export function leases(stateDir: string, network: string): Record<string, string> {
  const file = path.join(stateDir, 'ipam', `${network}.json`);
  if (!fs.existsSync(file)) return {};
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { allocations: Record<string, string> }).allocations;
}
