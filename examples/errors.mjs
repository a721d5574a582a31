// What nlkit's errors look like and how to handle them. Every case is
// provoked inside a throw-away namespace and checked. Run as root.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nlkit from 'nlkit';

function expect(cond, what) {
  if (!cond) throw new Error(`unexpected: ${what}`);
}

const ns = `errors-${process.pid}`;
await nlkit.createNetns(ns);
const h = await nlkit.open({ netns: ns });
try {
  // 1. Input is validated before anything reaches the kernel.
  try {
    await h.addresses.add('lo', '10.0.0.300/24');
  } catch (e) {
    console.log(e instanceof nlkit.ValidationError, e.field, '-', e.message);
  }

  // 2. Kernel refusals: errno name, the operation, and the kernel's own words.
  await h.links.add({ name: 'br0', kind: 'bridge' });
  await h.addresses.add('br0', '10.1.0.1/24');
  try {
    await h.addresses.add('br0', '10.1.0.1/24');
  } catch (e) {
    console.log(e instanceof nlkit.NetlinkError, e.code, '-', e.extack);
  }
  try {
    await h.routes.add({ dst: '10.9.0.0/16', gateway: '192.0.2.1' });
  } catch (e) {
    console.log(e.code, '-', e.message);
  }

  // 3. Looking something up that may not exist: find() returns undefined.
  console.log('eth9 exists:', (await h.links.find('eth9')) !== undefined);

  // 4. Syscall failures (namespaces, sysctls, sockets) are SystemErrors.
  try {
    await nlkit.getSysctl(ns, 'net.ipv4.no_such_setting');
  } catch (e) {
    console.log(e instanceof nlkit.SystemError, e.code, e.syscall);
  }

  // 5. nftables: a transaction is refused as a whole; the error names the command.
  const tx = h.nft.transaction();
  tx.addTable({ family: 'inet', name: 't' });
  tx.addRule({ family: 'inet', table: 't', chain: 'missing', rule: nlkit.rule().accept() });
  try {
    await tx.commit();
    expect(false, 'commit succeeded');
  } catch (e) {
    expect(e instanceof nlkit.NftCommandError && e instanceof nlkit.NetlinkError, e);
    console.log(e.name, `#${e.command}`, e.description, e.code, e.attribute ?? '');
    expect((await h.nft.tables.list()).length === 0, 'table t was created anyway');
  }
  // get() of something missing is a NotFoundError (an ENOENT NetlinkError); find() gives undefined.
  try {
    await h.nft.tables.get({ family: 'inet', name: 't' });
    expect(false, 'get found table t');
  } catch (e) {
    expect(e instanceof nlkit.NotFoundError && e.code === 'ENOENT', e);
    console.log(e.name, e.code, '-', e.message);
  }
  expect((await h.nft.tables.find({ family: 'inet', name: 't' })) === undefined, 'find found table t');
  // ...and a commit conditional on a generation that is no longer current.
  const { id } = await h.nft.generation.get();
  const bump = h.nft.transaction();
  bump.addTable({ family: 'inet', name: 'other' });
  await bump.commit();
  const late = h.nft.transaction();
  late.addTable({ family: 'inet', name: 'mine' });
  try {
    await late.commit({ expectGeneration: id });
    expect(false, 'commit succeeded');
  } catch (e) {
    expect(e instanceof nlkit.GenerationMismatchError, e);
    console.log(e.name, e.code, 'expected generation', e.expected);
  }

  // 6. The networks API: a /30 has room for the gateway and one sandbox.
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-errors-'));
  const nets = await nlkit.networks({ host: ns, stateDir });
  const sandboxes = [`${ns}-a`, `${ns}-b`];
  try {
    await nets.create({ name: 'tiny', subnet: '10.50.0.0/30' });
    const a = await nets.attach('tiny', { sandbox: sandboxes[0], create: true }); // gets 10.50.0.2
    try {
      await nets.attach('tiny', { sandbox: sandboxes[1], create: true, ip: a.ipv4.split('/')[0] });
      expect(false, 'attach succeeded');
    } catch (e) {
      expect(e instanceof nlkit.AddressInUseError, e);
      console.log(e.name, '-', e.message);
    }
    try {
      await nets.attach('tiny', { sandbox: sandboxes[1], create: true });
      expect(false, 'attach succeeded');
    } catch (e) {
      // No address left: the attach undid everything, its namespace too.
      expect(e instanceof nlkit.IpamExhaustedError, e);
      console.log(e.name, '-', e.message);
      expect(!nlkit.netnsExists(sandboxes[1]), 'the failed attach left its namespace behind');
    }
    await nets.detach('tiny', sandboxes[0]);
    // A sandbox that already has an eth0: the kernel refuses the veth's peer.
    await nlkit.createNetns(sandboxes[1]);
    const sb = await nlkit.open({ netns: sandboxes[1] });
    await sb.links.add({ name: 'eth0', kind: 'bridge' });
    sb.close();
    try {
      await nets.attach('tiny', { sandbox: sandboxes[1] });
      expect(false, 'attach succeeded');
    } catch (e) {
      // A multi-step operation failed: everything it had done is undone, and
      // the cause says which step and why.
      expect(e instanceof nlkit.NetworkOperationError && e.cause instanceof nlkit.NetlinkError && e.cause.code === 'EEXIST', e);
      console.log(e.name, `step "${e.step}"`, '<-', e.cause.name, '-', e.cause.message);
      expect((await nets.get('tiny')).attachments.length === 0, 'the failed attach left an attachment');
    }
    await nets.delete('tiny');
    // Deleting what is not there: NotFoundError, or false with { missingOk: true }.
    try {
      await nets.delete('tiny');
      expect(false, 'deleted tiny twice');
    } catch (e) {
      expect(e instanceof nlkit.NotFoundError, e);
      console.log(e.name, '-', e.message);
    }
    expect((await nets.delete('tiny', { missingOk: true })) === false, 'missingOk delete did not resolve to false');
  } finally {
    nets.close();
    for (const s of sandboxes) await nlkit.deleteNetns(s, { missingOk: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
} finally {
  h.close();
  await nlkit.deleteNetns(ns);
}
