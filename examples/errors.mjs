// What nlkit's errors look like and how to handle them. Run as root.
import * as nlkit from 'nlkit';

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
} finally {
  h.close();
  await nlkit.deleteNetns(ns);
}
