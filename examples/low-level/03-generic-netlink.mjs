// Generic netlink: families are looked up by name (nlctrl), then spoken to
// by id. nlkit types ethtool's link settings; any other family (WireGuard,
// devlink, ...) is reached the same way with genl.request/dump/subscribe.
// Here: the families this kernel has, a veth's speed/duplex/link state, and
// a change of its queue count seen on ethtool's "monitor" group.
// Run as root: node examples/low-level/03-generic-netlink.mjs
import { ethtoolConstants, openGenetlink } from 'nlkit/genetlink';
import { expectEqual, withNamespaces } from './lab.mjs';

await withNamespaces(['genl'], async ({ ns, h }) => {
  await h.genl.links.add({ name: 'v0', kind: 'veth', up: true, peer: { name: 'v1' } });
  await h.genl.links.set('v1', { up: true });

  const genl = await openGenetlink({ netns: ns.genl });
  const monitor = await genl.subscribe('ethtool', 'monitor');
  try {
    const families = await genl.families.list();
    console.log('generic netlink families:', families.map((f) => `${f.name}(${f.id})`).join(' '));
    const ethtool = families.find((f) => f.name === 'ethtool');
    if (!ethtool) throw new Error('this kernel has no ethtool netlink');
    console.log('ethtool multicast groups:', ethtool.multicastGroups.map((g) => g.name).join(', '));

    const modes = await genl.ethtool.linkModes.get('v0');
    expectEqual([modes.speed, modes.duplex, modes.autoneg], [10000, 'full', false], 'veth link modes');
    expectEqual((await genl.ethtool.linkState.get('v0')).link, true, 'link detected');
    console.log(`v0: ${modes.speed} Mb/s ${modes.duplex} duplex, link detected`);

    const channels = await genl.ethtool.channels.get('v0');
    console.log(`v0: ${channels.rx} of at most ${channels.rxMax} rx queues`);
    if (channels.rxMax > 1) {
      const want = channels.rx === 1 ? 2 : 1;
      await genl.ethtool.channels.set('v0', { rx: want });
      for await (const ev of monitor) {
        if ('type' in ev) continue; // overrun
        if (ev.command !== ethtoolConstants.ETHTOOL_MSG_CHANNELS_NTF) continue;
        expectEqual(ev.attributes.u32(ethtoolConstants.ETHTOOL_A_CHANNELS_RX_COUNT), want, 'rx queues notified');
        console.log(`monitor: v0 now has ${want} rx queues`);
        break;
      }
    }
  } finally {
    monitor.close();
    genl.close();
  }
});
