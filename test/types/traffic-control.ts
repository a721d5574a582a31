// Type-level checks of traffic control (compiled, never run; see
// read-write.ts): listed qdiscs and classes pass back to get, find and
// delete; options are typed once the kind is checked (as Link's info);
// typed options go back into replace; wrong calls stay type errors.
import type { Handle, HtbClassInfo, Qdisc, SyncHandle, TbfInfo, TcClass } from '../../lib';

declare const h: Handle;
declare const hs: SyncHandle;

export async function listedQdiscsAndClassesPassBack(): Promise<void> {
  const qdiscs: Qdisc[] = await h.qdiscs.list({ link: 'eth0' });
  for (const q of qdiscs) {
    const same: Qdisc = await h.qdiscs.get(q);
    const removed: boolean = await h.qdiscs.delete(q, { missingOk: true });
    if (q.kind === 'tbf') {
      const rate: number = q.options.rate;
      const limit: number = q.options.limit;
      void [rate, limit];
    }
    void [same, removed];
  }
  const classes: TcClass[] = await h.classes.list({ link: 'eth0', qdisc: '1:' });
  for (const c of classes) {
    const maybe: TcClass | undefined = await h.classes.find(c);
    if (c.kind === 'htb') {
      const ceil: number = c.options.ceil;
      void ceil;
    }
    void maybe;
  }
  const removed: boolean = hs.classes.delete({ link: 'eth0', classid: '1:10' });
  void removed;
}

export async function readOptionsGoBackIn(tbf: TbfInfo, htb: HtbClassInfo): Promise<void> {
  await h.qdiscs.replace({ link: 'eth0', kind: 'tbf', options: { ...tbf, rate: tbf.rate / 2 } });
  await h.classes.replace({ link: 'eth0', classid: '1:10', kind: 'htb', options: htb });
}

export async function wrongCallsAreRefused(): Promise<void> {
  // @ts-expect-error a TBF needs its options
  await h.qdiscs.add({ link: 'eth0', kind: 'tbf' });
  // @ts-expect-error a class needs a class id
  await h.classes.add({ link: 'eth0', kind: 'htb', options: { rate: '1mbit' } });
  // @ts-expect-error the delete options are { missingOk } only
  await h.qdiscs.delete({ link: 'eth0', parent: 'root' }, { force: true });
}
