/**
 * Records of one object kept in (SystemModstamp, Id) order, for change-feed queries. The clock
 * mostly moves forward, so a write appends at (or near) the end; superseded entries are left in
 * place and skipped (lazy deletion) until they outnumber the live ones, then the index compacts.
 * Many records share a modstamp (stamps are whole seconds; one collection call is one transaction):
 * ties order by Id.
 */
import type { SfRecord } from './values.js';

export class ModstampIndex {
  private ms: number[] = [];
  private ids: string[] = [];
  private stale = 0;

  constructor(private readonly lookup: (id: string) => SfRecord | undefined) {}

  get size(): number {
    return this.ids.length - this.stale;
  }

  clear(): void {
    this.ms = [];
    this.ids = [];
    this.stale = 0;
  }

  /** Replaces the contents with the given records, sorted once (bulk loading). */
  rebuild(records: Iterable<SfRecord>): void {
    const entries: Array<[number, string]> = [];
    for (const r of records) entries.push([r.SystemModstamp as number, r.Id as string]);
    entries.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    this.ms = entries.map((e) => e[0]);
    this.ids = entries.map((e) => e[1]);
    this.stale = 0;
  }

  /** Records that a record moved from `previous` (or was created, previous = null) to its current modstamp. */
  moved(id: string, previous: number | null, current: number): void {
    if (previous === current) return;
    if (previous !== null) this.stale += 1;
    this.insert(current, id);
    if (this.stale > 1024 && this.stale > this.ids.length / 2) this.compact();
  }

  private insert(ms: number, id: string): void {
    let pos = this.ids.length;
    // Walk back over entries that sort after (ms, id): usually none, or a few from the same transaction.
    while (pos > 0) {
      const pm = this.ms[pos - 1] as number;
      if (pm < ms || (pm === ms && (this.ids[pos - 1] as string) <= id)) break;
      if (this.ids.length - pos > 64) {
        pos = this.lowerBound(ms, id);
        break;
      }
      pos -= 1;
    }
    if (pos === this.ids.length) {
      this.ms.push(ms);
      this.ids.push(id);
    } else {
      this.ms.splice(pos, 0, ms);
      this.ids.splice(pos, 0, id);
    }
  }

  /** First position whose (ms, id) is >= the given key. */
  private lowerBound(ms: number, id = ''): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.ms[mid] as number;
      if (m < ms || (m === ms && (this.ids[mid] as string) < id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(): void {
    const ms: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      const id = this.ids[i] as string;
      const m = this.ms[i] as number;
      const r = this.lookup(id);
      if (!r || r.SystemModstamp !== m) continue;
      if (ids.length && ids[ids.length - 1] === id && ms[ms.length - 1] === m) continue;
      ms.push(m);
      ids.push(id);
    }
    this.ms = ms;
    this.ids = ids;
    this.stale = 0;
  }

  /** Live records with lo <= SystemModstamp <= hi, in (SystemModstamp, Id) order or its reverse. */
  *scan(lo: number, hi: number, dir: 'asc' | 'desc'): Generator<SfRecord> {
    let lastId = '';
    let lastMs = NaN;
    if (dir === 'asc') {
      for (let i = lo === -Infinity ? 0 : this.lowerBound(lo); i < this.ids.length; i++) {
        const m = this.ms[i] as number;
        if (m > hi) return;
        const id = this.ids[i] as string;
        const r = this.lookup(id);
        if (!r || r.SystemModstamp !== m || (id === lastId && m === lastMs)) continue;
        lastId = id;
        lastMs = m;
        yield r;
      }
    } else {
      const start = hi === Infinity ? this.ids.length : this.lowerBound(hi + 1);
      for (let i = start - 1; i >= 0; i--) {
        const m = this.ms[i] as number;
        if (m < lo) return;
        const id = this.ids[i] as string;
        const r = this.lookup(id);
        if (!r || r.SystemModstamp !== m || (id === lastId && m === lastMs)) continue;
        lastId = id;
        lastMs = m;
        yield r;
      }
    }
  }
}
