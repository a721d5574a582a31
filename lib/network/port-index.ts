/**
 * Publications by protocol and host port, so that publishing checks for a
 * conflict without scanning every publication.
 * @module
 */
/** What the index needs of a publication. */
export interface IndexedPublication {
  protocol: string;
  hostPort: number;
  /** Last port of a range. */
  hostPortEnd?: number;
}

/** Publications by protocol and host port (ranges kept apart: they are few). */
export class PortIndex<P extends IndexedPublication> {
  private readonly single = new Map<string, Set<P>>();
  private readonly ranges = new Set<P>();
  size = 0;

  constructor(readonly publications: Record<string, P>) {
    for (const p of Object.values(publications)) this.add(p);
  }

  /** Sets or removes a publication, keeping the index. */
  apply(key: string, p: P | undefined): void {
    const old = this.publications[key] as P | undefined;
    if (old) this.remove(old);
    if (p) {
      this.publications[key] = p;
      this.add(p);
    } else delete this.publications[key];
  }

  overlapping(protocol: string, lo: number, hi: number): P[] {
    const out: P[] = [];
    for (const r of this.ranges) if (r.protocol === protocol && r.hostPort <= hi && lo <= (r.hostPortEnd ?? r.hostPort)) out.push(r);
    for (let port = lo; port <= hi; port++) {
      const set = this.single.get(`${protocol}:${port}`);
      if (set) out.push(...set);
    }
    return out;
  }

  private add(p: P): void {
    this.size++;
    if (p.hostPortEnd !== undefined) {
      this.ranges.add(p);
      return;
    }
    const k = `${p.protocol}:${p.hostPort}`;
    let set = this.single.get(k);
    if (!set) this.single.set(k, (set = new Set()));
    set.add(p);
  }

  private remove(p: P): void {
    this.size--;
    if (p.hostPortEnd !== undefined) {
      this.ranges.delete(p);
      return;
    }
    const k = `${p.protocol}:${p.hostPort}`;
    const set = this.single.get(k);
    set?.delete(p);
    if (set?.size === 0) this.single.delete(k);
  }
}
