/**
 * The CNI_* environment of one plugin call, checked (code 4 for what is
 * missing or malformed).
 * @module
 */
import * as path from 'node:path';
import { ValidationError } from '../netlink/errors';
import { validateInterfaceName } from '../validate/names';
import { CniCode, CniError } from './errors';

/** What the runtime passes in the environment. */
export interface CniEnvironment {
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
  containerId?: string;
  /** Path of the sandbox's network namespace (absent on DEL when it is gone). */
  netns?: string;
  ifname?: string;
  /** CNI_ARGS: "IgnoreUnknown=1;IP=10.1.0.5;MAC=...". Read for ADD and CHECK only: empty on DEL, GC and STATUS, which use none of them. */
  args: Record<string, string | undefined>;
  /** Directories holding plugin binaries (for a delegated IPAM plugin). */
  path: string[];
}

const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;

/** The args nlkit-cni understands; K8S_* are passed by kubelet for information. */
const KNOWN_ARGS = ['IgnoreUnknown', 'IP', 'MAC', 'K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID'];

/** The spec's container ID: an alphanumeric, then alphanumerics, '_', '.' and '-' (libcni's ValidateContainerID). */
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function missing(name: string): CniError {
  return new CniError(CniCode.invalidEnvironment, `${name} is required`);
}

/** Parses and checks the environment for the command it names. */
export function parseEnvironment(env: NodeJS.ProcessEnv): CniEnvironment {
  const command = env.CNI_COMMAND;
  if (command === undefined || command === '') throw missing('CNI_COMMAND');
  if (!(COMMANDS as readonly string[]).includes(command)) throw new CniError(CniCode.invalidEnvironment, `unknown CNI_COMMAND ${command}`);
  const out: CniEnvironment = {
    command: command as CniEnvironment['command'],
    // IP and MAC are ADD's: DEL must not fail on arguments a refused ADD was called with (the runtime retries it with them),
    // and GC and STATUS have no attachment to pass arguments for
    args: command === 'ADD' || command === 'CHECK' ? parseArgs(env.CNI_ARGS ?? '') : {},
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
  };
  if (command === 'ADD' || command === 'DEL' || command === 'CHECK') {
    out.containerId = required(env, 'CNI_CONTAINERID');
    out.ifname = required(env, 'CNI_IFNAME');
    // checked as libcni checks them, before anything is done. Not on DEL (the reference plugins' skel checks DEL too;
    // libcni checks ADD only and passes DEL through): no ADD succeeds with such a value, the runtime's DEL after it
    // must succeed, and an attachment an earlier nlkit-cni made with one must stay removable
    if (command !== 'DEL') {
      checkContainerId(out.containerId);
      checkIfname(out.ifname);
    }
    // DEL must succeed when the namespace is already gone, so CNI_NETNS is optional there
    if (command === 'DEL') out.netns = env.CNI_NETNS === '' ? undefined : env.CNI_NETNS;
    else out.netns = checkNetns(required(env, 'CNI_NETNS'));
  }
  return out;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (v === undefined || v === '') throw missing(name);
  return v;
}

function checkContainerId(id: string): void {
  if (!CONTAINER_ID.test(id)) {
    throw new CniError(
      CniCode.invalidEnvironment,
      `CNI_CONTAINERID ${JSON.stringify(id)} has characters a container ID may not have`,
      'a container ID starts with a letter or digit, followed by letters, digits, "_", "." or "-"',
    );
  }
}

/** An interface name the kernel takes: 1-15 bytes, not "." or "..", no '/', ':', white space or control characters. */
function checkIfname(ifname: string): void {
  try {
    validateInterfaceName(ifname, 'CNI_IFNAME');
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    // "invalid CNI_IFNAME "a:b": must not contain '/', ':' or white space": the variable, its value and why
    throw new CniError(CniCode.invalidEnvironment, e.message);
  }
}

/**
 * The namespace's path must be absolute: a relative one names whatever is
 * there from the directory the runtime happened to start the plugin in, and
 * the attachment records the path for CHECK, GC and nlkit's drift check.
 */
function checkNetns(netns: string): string {
  if (!path.isAbsolute(netns)) {
    throw new CniError(
      CniCode.invalidEnvironment,
      `CNI_NETNS ${JSON.stringify(netns)} is not an absolute path`,
      'name the namespace by its path, e.g. /run/netns/<name>',
    );
  }
  return netns;
}

/** CNI_ARGS; an unknown key is refused unless IgnoreUnknown is true, as the reference plugins do. */
function parseArgs(s: string): Record<string, string | undefined> {
  const args: Record<string, string | undefined> = {};
  for (const pair of s.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError(CniCode.invalidEnvironment, `CNI_ARGS: ${JSON.stringify(pair)} is not KEY=VALUE`);
    args[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const ignoreUnknown = ['1', 'true'].includes((args.IgnoreUnknown ?? '').toLowerCase());
  for (const key of Object.keys(args)) {
    if (!KNOWN_ARGS.includes(key) && !ignoreUnknown) {
      throw new CniError(CniCode.invalidEnvironment, `CNI_ARGS: unknown argument ${key}`, 'set IgnoreUnknown=1 to pass arguments for other plugins');
    }
  }
  return args;
}
