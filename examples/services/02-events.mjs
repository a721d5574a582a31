// A daemon feeding services() from a watch loop (here: three snapshots of
// the desired services, as an EndpointSlice watch would deliver them) and
// observing what nlkit did through its events: which services were created,
// changed (which endpoints came and went, which weights and conditions
// changed) or deleted, which started refusing connections for lack of
// endpoints and which recovered, and drift that check() found and
// reconcile() repaired after someone deleted the services table.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nlkit from 'nlkit';

const hostNs = `sve${process.pid}-host`;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-services-events-'));

const web = (endpoints) => ({ name: 'web', vips: ['10.96.0.10'], ports: [{ port: 80, targetPort: 8080 }], endpoints });
const db = (endpoints) => ({ name: 'db', vips: ['10.96.0.20'], ports: [{ port: 5432 }], endpoints });
const snapshots = [
  [web([{ ip: '10.88.0.2' }, { ip: '10.88.0.3' }]), db([{ ip: '10.88.0.9' }])],
  // a rollout: 10.88.0.3 terminating, 10.88.0.4 new and weighted up; db's only endpoint gone
  [web([{ ip: '10.88.0.2', weight: 2 }, { ip: '10.88.0.3', ready: false, terminating: true }, { ip: '10.88.0.4' }]), db([])],
  // db comes back elsewhere; web is removed
  [db([{ ip: '10.88.0.10' }])],
];

/** One line per event. */
function describe(ev) {
  const ips = (list) => list.map((e) => e.ip ?? e.after.ip).join(' ');
  switch (ev.type) {
    case 'service': {
      const d = ev.delta;
      const what = [
        d.endpointsAdded.length && `+[${ips(d.endpointsAdded)}]`,
        d.endpointsRemoved.length && `-[${ips(d.endpointsRemoved)}]`,
        d.weights.length && `weight [${ips(d.weights)}]`,
        d.conditions.length && `conditions [${ips(d.conditions)}]`,
        d.fields.length && `fields [${d.fields}]`,
      ].filter(Boolean);
      const verb = ev.action === 'del' ? 'deleted' : ev.previous ? 'changed' : 'created';
      return `${ev.name} ${verb} ${what.join(' ')}`.trim();
    }
    case 'no-endpoints':
      return `${ev.name} ${ev.action === 'new' ? 'refuses connections (no endpoints)' : 'has endpoints again'}`;
    case 'drift':
      return `drift ${ev.action === 'new' ? 'found' : 'repaired'}: ${ev.drift.map((d) => d.kind).join(', ')}`;
    default:
      return ev.type; // synced, overrun
  }
}

await nlkit.createNetns(hostNs);
let svcs;
try {
  svcs = await nlkit.services({ host: hostNs, stateDir });
  const events = await svcs.events.subscribe({ includeExisting: true });
  const seen = [];
  // The consumer: its own loop, fed after each commit; what it does (or throws) never reaches the manager.
  const consumer = (async () => {
    for await (const ev of events) {
      seen.push(describe(ev));
      console.log(`  event: ${describe(ev)}`);
    }
  })();

  for (const [i, desired] of snapshots.entries()) {
    const r = await svcs.apply(desired, { cutFlows: false });
    console.log(`apply #${i + 1}: added [${r.added}] changed [${r.changed}] removed [${r.removed}]`);
  }
  // someone deletes the services table (an `nft flush ruleset`, say)
  const host = await nlkit.open({ netns: hostNs });
  const tx = host.nft.transaction();
  tx.deleteTable({ family: 'inet', name: 'nlkit-svc' });
  await tx.commit();
  host.close();
  console.log(`check(): ${(await svcs.check()).map((d) => d.kind)}`);
  await svcs.reconcile();
  assert.deepEqual(await svcs.check(), []);

  svcs.close(); // ends the stream: the consumer's loop finishes
  await consumer;
  assert.deepEqual(seen, [
    'synced',
    'web created +[10.88.0.2 10.88.0.3]',
    'db created +[10.88.0.9]',
    'web changed +[10.88.0.4] weight [10.88.0.2] conditions [10.88.0.3]',
    'db changed -[10.88.0.9]',
    'db refuses connections (no endpoints)',
    'db changed +[10.88.0.10]',
    'db has endpoints again',
    'web deleted -[10.88.0.2 10.88.0.3 10.88.0.4]',
    'drift found: table-missing', // check()
    'drift found: table-missing', // reconcile() checks first,
    'drift repaired: table-missing', // then repairs
  ]);
} finally {
  svcs?.close();
  await nlkit.deleteNetns(hostNs, { missingOk: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
}
