// The CLI's command-line parsing: options, sandbox references, port and
// backend notation, and the usage errors main() reports (exit code 2, one
// line on stderr) before anything touches the system.
import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError, type OptionSpec } from '../../lib/cli/args';
import { main } from '../../lib/cli/main';
import { Progress } from '../../lib/cli/progress';
import { findAttachment, parseBackend, parseNetnsRef, parsePortSpec, parsePublicationRef } from '../../lib/cli/specs';

const specs: OptionSpec[] = [{ name: 'subnet', value: 'CIDR' }, { name: 'to', value: 'X', multiple: true }, { name: 'internal' }, { name: 'help', short: 'h' }];

describe('parseCommandLine', () => {
  it('collects positionals, valued options in both spellings, flags and repeated options', () => {
    expect(parseCommandLine(['web', '--subnet', '10.0.0.0/24', '--internal', '--to=a', 'x', '--to', 'b=2'], specs)).toEqual({
      positionals: ['web', 'x'],
      options: { subnet: '10.0.0.0/24', internal: true, to: ['a', 'b=2'] },
    });
  });

  it('takes short aliases and stops at --', () => {
    expect(parseCommandLine(['-h', '--', '--internal', '-h'], specs)).toEqual({ positionals: ['--internal', '-h'], options: { help: true } });
  });

  it('keeps negative-looking and dash values as positionals', () => {
    expect(parseCommandLine(['-1', '-'], specs).positionals).toEqual(['-1', '-']);
  });

  it.each([
    [['--subnt', 'x'], /unknown option --subnt \(did you mean --subnet\?\)/],
    [['--frobnicate'], /^unknown option --frobnicate$/],
    [['-x'], /unknown option -x/],
    [['--subnet'], /--subnet needs a value \(CIDR\)/],
    [['--subnet', '--internal'], /--subnet needs a value/],
    [['--internal=yes'], /--internal takes no value/],
    [['--subnet', 'a', '--subnet', 'b'], /--subnet given more than once/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv, specs)).toThrow(UsageError);
    expect(() => parseCommandLine(argv, specs)).toThrow(message);
  });
});

describe('sandbox references', () => {
  it.each([
    ['c1', 'c1'],
    ['name:1234', '1234'],
    ['1234', { pid: 1234 }],
    ['pid:99', { pid: 99 }],
    ['/proc/1/ns/net', { path: '/proc/1/ns/net' }],
    ['path:relative/ns', { path: 'relative/ns' }],
  ])('%s', (arg, ref) => expect(parseNetnsRef(arg)).toEqual(ref));

  it.each(['', 'pid:', 'pid:abc', 'pid:0', 'name:'])('refuses %j', (arg) => expect(() => parseNetnsRef(arg)).toThrow(UsageError));

  it('finds the attachment a reference means, however it is written', () => {
    const atts = [
      { id: 'c1', sandboxPath: '/run/netns/c1' },
      { id: 'pid-4242', sandboxPath: '/proc/4242/ns/net' },
      { id: 'app', sandboxPath: '/run/netns/app-ns' },
      { id: '/var/run/x/net', sandboxPath: '/var/run/x/net' },
    ];
    expect(findAttachment('c1', atts)?.id).toBe('c1');
    expect(findAttachment('4242', atts)?.id).toBe('pid-4242');
    expect(findAttachment('pid:4242', atts)?.id).toBe('pid-4242');
    expect(findAttachment('pid-4242', atts)?.id).toBe('pid-4242');
    expect(findAttachment('app-ns', atts)?.id).toBe('app'); // attached under a custom id
    expect(findAttachment('/var/run/x/net', atts)?.id).toBe('/var/run/x/net');
    expect(findAttachment('c9', atts)).toBeUndefined();
    expect(findAttachment('pid:', atts)).toBeUndefined();
  });
});

describe('port notation', () => {
  it.each([
    ['8080', { hostPort: 8080 }],
    ['8080:80', { hostPort: 8080, containerPort: 80 }],
    ['53/udp', { hostPort: 53, protocol: 'udp' }],
    ['8080:80/tcp', { hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    ['127.0.0.1:8080', { hostIp: '127.0.0.1', hostPort: 8080 }],
    ['127.0.0.1:5353:53/udp', { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' }],
    ['[::1]:8080:80', { hostIp: '::1', hostPort: 8080, containerPort: 80 }],
    ['[fd00::1]:443', { hostIp: 'fd00::1', hostPort: 443 }],
    ['8000-8010', { hostPort: '8000-8010' }],
    ['0.0.0.0:8000-8010/udp', { hostIp: '0.0.0.0', hostPort: '8000-8010', protocol: 'udp' }],
  ])('%s', (s, spec) => expect(parsePortSpec(s)).toEqual(spec));

  it.each([
    ['', /host port/],
    ['http', /host port/],
    ['0', /must be a port 1-65535/],
    ['70000', /must be a port 1-65535/],
    ['8080:0', /container port/],
    ['8080/sctp', /tcp or udp/],
    ['8010-8000', /upwards/],
    ['::1:8080:80', /expected/],
    ['[::1]8080', /as \[ADDR\]:PORT/],
    [':8080', /empty host address/],
    ['1.2.3.4:8080:80:70', /expected/],
  ])('refuses %j', (s, message) => expect(() => parsePortSpec(s)).toThrow(message));

  it('names publications for unpublish by port or by listed key', () => {
    expect(parsePublicationRef('8080')).toEqual({ hostPort: 8080 });
    expect(parsePublicationRef('127.0.0.1:53/udp')).toEqual({ hostIp: '127.0.0.1', hostPort: 53, protocol: 'udp' });
    expect(parsePublicationRef('tcp:*:8080')).toEqual({ hostPort: 8080, protocol: 'tcp' });
    expect(parsePublicationRef('udp:::1:53')).toEqual({ hostIp: '::1', hostPort: 53, protocol: 'udp' });
    expect(parsePublicationRef('tcp:10.0.0.1:8000-8010')).toEqual({ hostIp: '10.0.0.1', hostPort: '8000-8010', protocol: 'tcp' });
    expect(() => parsePublicationRef('8080:80')).toThrow(/host side only/);
  });
});

describe('backend notation', () => {
  it.each([
    ['c1', { sandbox: 'c1' }],
    ['c1=90', { sandbox: 'c1', weight: 90 }],
    ['c1=0', { sandbox: 'c1', weight: 0 }],
    ['c2:8081=10', { sandbox: 'c2', port: 8081, weight: 10 }],
    ['c2:8081', { sandbox: 'c2', port: 8081 }],
    ['pid:1234', { sandbox: 'pid:1234' }],
    ['pid:1234=5', { sandbox: 'pid:1234', weight: 5 }],
    ['pid:1234:80=5', { sandbox: 'pid:1234', port: 80, weight: 5 }],
    ['/run/x/net:80', { sandbox: '/run/x/net', port: 80 }],
  ])('%s', (s, b) => expect(parseBackend(s)).toEqual(b));

  it.each([
    ['c1=10001', /weight/],
    ['c1=x', /weight/],
    ['c1:0', /container port/],
    ['=5', /no sandbox/],
  ])('refuses %j', (s, message) => expect(() => parseBackend(s)).toThrow(message));
});

describe('progress', () => {
  it('draws in place on a terminal and erases itself', () => {
    let out = '';
    const p = new Progress({ write: (s: string) => (out += s), isTTY: true, columns: 120 }, true);
    p.update('detaching from web', 50, 200);
    // eslint-disable-next-line no-control-regex -- the progress line's escape codes are what is checked
    expect(out).toMatch(/^\r\x1b\[2Kdetaching from web {2}\[#{5}\.{15}\] {2}50\/200 {2}25%/);
    p.clear();
    expect(out.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('draws nothing when disabled', () => {
    let out = '';
    const p = new Progress({ write: (s: string) => (out += s) }, false);
    p.update('x', 1, 2);
    p.clear();
    expect(out).toBe('');
  });
});

/** Runs main() with captured streams. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {} });
  return { code, out, err };
}

describe('main: help and usage errors (nothing is touched)', () => {
  it('prints help for the tool, the net group and each command', async () => {
    expect((await run('--help')).out).toMatch(/net create[\s\S]*publish[\s\S]*Exit codes/);
    expect((await run('net')).out).toMatch(/net create[\s\S]*net rm/);
    const create = await run('net', 'create', '--help');
    expect(create.code).toBe(0);
    expect(create.out).toMatch(/^Usage: nlkit net create NAME --subnet CIDR/);
    expect(create.out).toMatch(/--no-isolate[\s\S]*--host NETNS[\s\S]*Examples:/);
    expect((await run('help', 'net', 'create')).out).toBe(create.out);
    expect((await run('help', 'publish')).out).toMatch(/--to SANDBOX\[:PORT\]\[=WEIGHT\]/);
    expect((await run('--json', '--host', 'x', 'attach', '-h')).out).toMatch(/^Usage: nlkit attach/);
  });

  it('prints the help when global options come before --help (they were "unknown option --host", exit 2)', async () => {
    const help = (await run('--help')).out;
    const netHelp = (await run('net', '--help')).out;
    for (const argv of [
      ['--host', 'lab', '--help'],
      ['--host=lab', '-h'],
      ['--state-dir', '/tmp/x', '--json', '--help'],
      ['--help', '--host', 'lab'],
    ]) {
      expect(await run(...argv), argv.join(' ')).toEqual({ code: 0, out: help, err: '' });
    }
    expect(await run('--host', 'lab', 'net', '--help')).toEqual({ code: 0, out: netHelp, err: '' });
    expect(await run('net', '--json', '-h')).toEqual({ code: 0, out: netHelp, err: '' });
  });

  it.each([
    [['frobnicate'], /^nlkit: unknown command "frobnicate" \(see nlkit --help\)$/],
    [['net', 'frob'], /^nlkit: unknown command "frob" for net/],
    [['--bogus'], /^nlkit: unknown option --bogus/],
    [['--host', 'lab'], /^nlkit: missing COMMAND \(see nlkit --help\)$/],
    [['--host', 'lab', '--help', '--bogus'], /^nlkit: unknown option --bogus/],
    [['--help', '--host'], /^nlkit: --host needs a value/],
    [['--host', 'lab', 'net'], /^nlkit: net: missing SUBCOMMAND/],
    [['net', 'create', 'web'], /^nlkit: net create: --subnet CIDR is required \(see nlkit net create --help\)$/],
    [['net', 'create'], /^nlkit: net create: missing NAME/],
    [['net', 'create', 'web', '--subnet', '10.0.0.0/24', '--mtu', 'big'], /--mtu must be an integer 68-65535/],
    [['net', 'create', 'web', '--subnet', '10.0.0.0/24', '--gateway6', 'fd00::1'], /--gateway6 needs --subnet6/],
    [['net', 'ls', 'extra'], /^nlkit: net ls: unexpected argument "extra"/],
    [['attach', 'web'], /^nlkit: attach: missing SANDBOX/],
    [['attach', 'web', 'a', 'b', '--ip', '10.0.0.5'], /--ip applies to one sandbox; got 2/],
    [['attach', 'web', '1234', '--create'], /--create needs a namespace name/],
    [['detach', 'web'], /missing SANDBOX \(or --all\)/],
    [['detach', 'web', 'c1', '--all'], /not both/],
    [['publish', 'web', '8080'], /missing --to SANDBOX/],
    [['publish', 'web', '8080:99999', '--to', 'c1'], /container port in "8080:99999"/],
    [['publish', 'web', '127.0.0.1:80', '--host-ip', '::1', '--to', 'c1'], /--host-ip ::1 contradicts 127.0.0.1:80/],
    [['unpublish', 'web', '8080:80'], /host side only/],
    [['demo', '--json'], /^nlkit: demo: unknown option --json/],
    [['topology', '--format', 'png'], /--format must be mermaid/],
    [['ls', '--host'], /--host needs a value/],
  ])('%j exits 2 with one line on stderr', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.endsWith('\n')).toBe(true);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err.trimEnd()).toMatch(message);
  });
});
