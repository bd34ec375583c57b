/**
 * The sandbox's state: contacts (Map by id, an id-ordered array for paging and search, a
 * lower-cased email index), the property registry, owners, merges, and the search-index lag.
 * Every mutation goes through here and is announced to listeners (the webhook dispatcher).
 */
import type { SandboxClock } from '../../sandbox/common.js';
import { snapshotOf, textOf, type ChangeSource, type ContactRecord, type ContactState, type StoredValue } from './contact-model.js';
import { LIFECYCLE_STAGES, VIRTUAL_PROPERTIES, type PropertyOption } from './property-defs.js';
import { PropertyRegistry, type PropertyValueError } from './properties.js';

export interface OwnerRecord {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  userId: number;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  teams: Array<{ id: string; name: string; primary: boolean }>;
}

export type StoreEvent =
  | { kind: 'creation'; objectId: string; at: number; source: ChangeSource }
  | { kind: 'propertyChange'; objectId: string; at: number; source: ChangeSource; propertyName: string; propertyValue: string }
  | { kind: 'deletion'; objectId: string; at: number; source: ChangeSource }
  | { kind: 'merge'; objectId: string; at: number; source: ChangeSource; mergedObjectIds: string[]; numberOfPropertiesMoved: number };

export interface WriteCheck {
  /** Canonical values to write; '' clears. */
  values: Map<string, string>;
  errors: PropertyValueError[];
}

export interface WriteCheckOptions {
  existing?: ContactRecord;
  /** A change made "in the HubSpot UI" (control routes): read-only values and backward stages allowed. */
  ui?: boolean;
}

/** HubSpot-like first contact id; ids then grow by one per contact created. */
export const FIRST_ID = 101;
const LIFECYCLE_RANK = new Map(LIFECYCLE_STAGES.map(([value], i) => [value, i]));
/** Counters that add up when two contacts merge (HubSpot combines their analytics). */
const SUMMED_ON_MERGE = new Set([
  'hs_analytics_num_page_views',
  'hs_analytics_num_visits',
  'num_conversion_events',
  'num_unique_conversion_events',
  'hs_email_open',
  'hs_email_click',
]);
const LATEST_ON_MERGE = new Set(['hs_analytics_last_visit_timestamp', 'recent_conversion_date', 'hs_email_last_open_date', 'hs_email_last_click_date']);
const EARLIEST_ON_MERGE = new Set(['hs_analytics_first_visit_timestamp', 'first_conversion_date']);

export class HubSpotStore {
  registry: PropertyRegistry;
  /**
   * Every contact ever created, by id: ids are assigned sequentially from FIRST_ID and records are
   * never removed (archived and merged ones stay), so `ordered[id - FIRST_ID]` is the record.
   */
  private ordered: ContactRecord[] = [];
  private byEmail = new Map<string, ContactRecord>();
  private archivedByEmail = new Map<string, ContactRecord>();
  private owners = new Map<string, OwnerRecord>();
  private nextNum = FIRST_ID;
  private listeners: Array<(event: StoreEvent) => void> = [];
  private liveCount = 0;
  /** Bumped on every mutation; search caches key on it. */
  version = 0;
  /** True while ids ascend with createdate, so id order is HubSpot's default search order. */
  createdInOrder = true;
  /** Writes stay invisible to search (old values) for this long. */
  searchIndexLagMs = 0;
  /**
   * Records by `lastmodifieddate` (updatedAt) ascending, for searches bounded below on it (the
   * change feed): `modifiedAt[i]` is the time `modifiedRecords[i]` had when it was put there; an
   * entry whose record has moved on since is skipped. Built at the first such search; a write at
   * the newest time appends, an older time (a clock set back) drops it to be built again.
   */
  private modifiedAt: number[] | null = null;
  private modifiedRecords: ContactRecord[] = [];
  /**
   * A write older than the record's last (a clock set back) while search lags: until the lag has
   * passed, search may see a state newer than the record's own time, so every record is looked at.
   */
  private lookAtAllUntil = 0;
  /** The latest time until which some write is hidden from search by the index lag. */
  private pendingUntil = 0;
  /**
   * `liveBefore[i]`: how many of the index's first i entries are their record's current entry and
   * searchable (neither archived nor merged away), for the store's `liveVersion`. Built at the first
   * count after a write; a count is then two reads however many records it spans.
   */
  private liveBefore: Int32Array | null = null;
  private liveVersion = -1;

  constructor(private readonly clock: SandboxClock) {
    this.registry = this.newRegistry();
  }

  private newRegistry(): PropertyRegistry {
    return new PropertyRegistry(Date.UTC(2015, 0, 1), {
      exists: (id) => this.owners.has(id) && !this.owners.get(id)?.archived,
      options: () => this.ownerOptions(),
    });
  }

  onEvent(listener: (event: StoreEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(event: StoreEvent): void {
    for (const l of this.listeners) l(event);
  }

  /** Empties contacts, owners and custom properties. */
  clear(): void {
    this.ordered = [];
    this.byEmail.clear();
    this.archivedByEmail.clear();
    this.owners.clear();
    this.nextNum = FIRST_ID;
    this.liveCount = 0;
    this.createdInOrder = true;
    this.registry = this.newRegistry();
    this.modifiedAt = null;
    this.liveBefore = null;
    this.liveVersion = -1;
    this.pendingUntil = 0;
    this.lookAtAllUntil = 0;
    this.version += 1;
  }

  // --- reads ---

  /** Live contacts (not archived, not merged away). */
  contactCount(): number {
    return this.liveCount;
  }

  /** The raw record, whatever its state. */
  getRecord(id: string): ContactRecord | undefined {
    if (!/^\d{1,15}$/.test(id)) return undefined;
    return this.ordered[Number(id) - FIRST_ID];
  }

  /** Follows merges: the id of a merged-away contact reads as its survivor, as HubSpot does. */
  resolve(id: string): ContactRecord | undefined {
    let c = this.getRecord(id);
    for (let hops = 0; c && c.mergedInto !== null && hops < 20; hops++) c = this.getRecord(c.mergedInto);
    return c && c.mergedInto === null ? c : undefined;
  }

  /** By id, honouring `archived` (true: only archived records; false: only live ones). */
  findById(id: string, archived: boolean): ContactRecord | undefined {
    const c = this.resolve(id);
    return c && c.archived === archived ? c : undefined;
  }

  findByEmail(email: string, archived: boolean): ContactRecord | undefined {
    const key = email.trim().toLowerCase();
    return archived ? this.archivedByEmail.get(key) : this.byEmail.get(key);
  }

  /** Live or archived contacts from numeric id `afterNum` on, in id order. */
  page(afterNum: number, limit: number, archived: boolean): { records: ContactRecord[]; next: ContactRecord | undefined } {
    const records: ContactRecord[] = [];
    for (let i = Math.max(0, afterNum - FIRST_ID); i < this.ordered.length; i++) {
      const c = this.ordered[i] as ContactRecord;
      if (c.mergedInto !== null || c.archived !== archived) continue;
      if (records.length === limit) return { records, next: c };
      records.push(c);
    }
    return { records, next: undefined };
  }

  /** Every record in id order (search scans this). */
  all(): readonly ContactRecord[] {
    return this.ordered;
  }

  /**
   * Every record whose lastmodifieddate is `from` or later, each once, oldest first: what a search
   * bounded below on lastmodifieddate needs to look at. Search sees a lagging write's older state,
   * never a newer one, so no record search could match is left out. Null while a write older than
   * its record's last one may still be hidden by the lag (then every record must be looked at).
   */
  modifiedSince(from: number, now: number): readonly ContactRecord[] | null {
    if (now < this.lookAtAllUntil) return null;
    const [start, end] = this.modifiedPositions({ from, fromOpen: false, to: Infinity, toOpen: false });
    const out: ContactRecord[] = [];
    for (let i = start; i < end; i += 1) {
      const c = this.modifiedRecordAt(i);
      if (c) out.push(c);
    }
    return out;
  }

  /**
   * True while a write may still be hidden from search by the index lag (search then sees a
   * record's older state, whose time is not its index entry's).
   */
  searchLagPending(now: number): boolean {
    return now < this.pendingUntil || now < this.lookAtAllUntil;
  }

  /**
   * The positions `[start, end)` of the modified-time index whose time lies in `range`. The index is
   * built here when needed; positions stay valid until the next write.
   */
  modifiedPositions(range: TimeRange): [number, number] {
    if (this.modifiedAt === null || this.modifiedAt.length > 2 * this.ordered.length + 1024) this.indexModified();
    const keys = this.modifiedAt as number[];
    const start = range.fromOpen ? firstAbove(keys, range.from) : firstAtOrAbove(keys, range.from);
    const end = range.toOpen ? firstAtOrAbove(keys, range.to) : firstAbove(keys, range.to);
    return [start, Math.max(start, end)];
  }

  /** The time of the index entry at `i` (from modifiedPositions). */
  modifiedTimeAt(i: number): number {
    return (this.modifiedAt as number[])[i] as number;
  }

  /** The record of the index entry at `i`, or null when the record has moved on to a later entry. */
  modifiedRecordAt(i: number): ContactRecord | null {
    const c = this.modifiedRecords[i] as ContactRecord;
    return c.updatedAt === (this.modifiedAt as number[])[i] ? c : null;
  }

  /**
   * How many entries in `[start, end)` of the index are current and searchable: what search finds
   * there while no write is hidden by the lag (searchLagPending false).
   */
  liveModifiedCount(start: number, end: number): number {
    if (this.liveBefore === null || this.liveVersion !== this.version) {
      const keys = this.modifiedAt as number[];
      // The buffer is kept from count to count (a feed polling during a bulk write rebuilds often).
      const counts = this.liveBefore !== null && this.liveBefore.length > keys.length ? this.liveBefore : new Int32Array(Math.ceil((keys.length + 1) * 1.25));
      let live = 0;
      for (let i = 0; i < keys.length; i += 1) {
        const c = this.modifiedRecords[i] as ContactRecord;
        if (c.updatedAt === keys[i] && !c.archived && c.mergedInto === null) live += 1;
        counts[i + 1] = live;
      }
      this.liveBefore = counts;
      this.liveVersion = this.version;
    }
    return (this.liveBefore[end] as number) - (this.liveBefore[start] as number);
  }

  private indexModified(): void {
    const records = [...this.ordered].sort((a, b) => a.updatedAt - b.updatedAt || a.num - b.num);
    this.modifiedRecords = records;
    this.modifiedAt = records.map((c) => c.updatedAt);
    this.liveVersion = -1;
  }

  /** Keeps the modified-time index in step with a record whose updatedAt becomes `at`. */
  private noteModified(c: ContactRecord, previous: number | null, at: number): void {
    if (previous !== null && at < previous && this.searchIndexLagMs > 0) this.lookAtAllUntil = Math.max(this.lookAtAllUntil, at + this.searchIndexLagMs);
    const keys = this.modifiedAt;
    if (keys === null || previous === at) return;
    if (keys.length > 0 && at < (keys[keys.length - 1] as number)) {
      this.modifiedAt = null;
      return;
    }
    keys.push(at);
    this.modifiedRecords.push(c);
    this.liveVersion = -1;
  }

  /** What search sees of a record now: null when it is not (yet) in the index. */
  searchState(c: ContactRecord, now: number): ContactState | null {
    if (c.mergedInto !== null) return null;
    const pending = c.pending;
    if (pending) {
      if (now < pending.until) return pending.state && !pending.state.archived ? pending.state : null;
      c.pending = null;
    }
    return c.archived ? null : c;
  }

  // --- write checks ---

  /** Validates written values against the registry; collects every failure, as HubSpot reports them. */
  checkWrite(input: Record<string, string>, options: WriteCheckOptions = {}): WriteCheck {
    const values = new Map<string, string>();
    const errors: PropertyValueError[] = [];
    for (const [name, raw] of Object.entries(input)) {
      const def = this.registry.get(name);
      if (!def) {
        errors.push({ name, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
        continue;
      }
      if (VIRTUAL_PROPERTIES.has(name) || (def.readOnlyValue && !options.ui)) {
        errors.push({ name, error: 'READ_ONLY_VALUE', message: `Property "${name}" is a read only property; its value cannot be set.` });
        continue;
      }
      const normalized = this.registry.normalize(def, raw);
      if (!normalized.ok) {
        errors.push(normalized.error);
        continue;
      }
      if (name === 'lifecyclestage' && normalized.value !== '' && options.existing && !options.ui) {
        const current = textOf(options.existing.props, 'lifecyclestage');
        const from = current === undefined ? undefined : LIFECYCLE_RANK.get(current);
        const to = LIFECYCLE_RANK.get(normalized.value);
        if (from !== undefined && to !== undefined && to < from) {
          errors.push({
            name,
            error: 'INVALID_LIFECYCLE_STAGE',
            message: `Property "lifecyclestage" cannot move backward from "${current}" to "${normalized.value}" through the API; clear it first (set it to "") and then set the new value.`,
          });
          continue;
        }
      }
      values.set(name, normalized.value);
    }
    return { values, errors };
  }

  /** The contact that already holds this email (another than `self`), if any. */
  emailOwner(values: Map<string, string>, self?: ContactRecord): ContactRecord | undefined {
    const email = values.get('email');
    if (!email) return undefined;
    const holder = this.byEmail.get(email.toLowerCase());
    return holder && holder !== self ? holder : undefined;
  }

  // --- writes ---

  create(values: Map<string, string>, source: ChangeSource, at = this.clock.now()): ContactRecord {
    const props: Record<string, StoredValue | undefined> = {};
    for (const [name, value] of values) if (value !== '') props[name] = value;
    const num = this.nextNum++;
    const c: ContactRecord = {
      id: String(num),
      num,
      props,
      createdAt: at,
      updatedAt: at,
      archived: false,
      archivedAt: 0,
      mergedInto: null,
      pending: this.searchIndexLagMs > 0 ? { state: null, until: at + this.searchIndexLagMs } : null,
    };
    if (c.pending) this.pendingUntil = Math.max(this.pendingUntil, c.pending.until);
    this.insert(c);
    this.emit({ kind: 'creation', objectId: c.id, at, source });
    for (const [name, value] of Object.entries(props)) {
      if (value !== undefined) this.emit({ kind: 'propertyChange', objectId: c.id, at, source, propertyName: name, propertyValue: String(value) });
    }
    return c;
  }

  /** Seed loading: no events, caller-chosen timestamps. */
  load(props: Record<string, StoredValue | undefined>, createdAt: number, updatedAt: number): ContactRecord {
    const num = this.nextNum++;
    const c: ContactRecord = { id: String(num), num, props, createdAt, updatedAt, archived: false, archivedAt: 0, mergedInto: null, pending: null };
    this.insert(c);
    return c;
  }

  private insert(c: ContactRecord): void {
    this.noteModified(c, null, c.updatedAt);
    const last = this.ordered[this.ordered.length - 1];
    if (last && last.createdAt > c.createdAt) this.createdInOrder = false;
    this.ordered.push(c);
    const email = textOf(c.props, 'email');
    if (email) this.byEmail.set(email.toLowerCase(), c);
    this.liveCount += 1;
    this.version += 1;
  }

  /** Applies checked values; returns the names that really changed (lastmodifieddate moves only then). */
  update(c: ContactRecord, values: Map<string, string>, source: ChangeSource, at = this.clock.now()): string[] {
    const changed: string[] = [];
    for (const [name, value] of values) if ((textOf(c.props, name) ?? '') !== value) changed.push(name);
    if (changed.length === 0) return changed;
    this.holdSearchState(c, at);
    const oldEmail = textOf(c.props, 'email');
    for (const name of changed) {
      const value = values.get(name) ?? '';
      // Assigning undefined rather than deleting keeps the object's hidden class (and memory) compact.
      c.props[name] = value === '' ? undefined : value;
    }
    const newEmail = textOf(c.props, 'email');
    if (newEmail !== oldEmail) {
      if (oldEmail && this.byEmail.get(oldEmail.toLowerCase()) === c) this.byEmail.delete(oldEmail.toLowerCase());
      if (newEmail) this.byEmail.set(newEmail.toLowerCase(), c);
    }
    this.noteModified(c, c.updatedAt, at);
    c.updatedAt = at;
    this.version += 1;
    for (const name of changed) {
      this.emit({ kind: 'propertyChange', objectId: c.id, at, source, propertyName: name, propertyValue: textOf(c.props, name) ?? '' });
    }
    return changed;
  }

  archive(c: ContactRecord, source: ChangeSource, at = this.clock.now()): void {
    if (c.archived || c.mergedInto !== null) return;
    this.holdSearchState(c, at);
    c.archived = true;
    c.archivedAt = at;
    const email = textOf(c.props, 'email')?.toLowerCase();
    if (email && this.byEmail.get(email) === c) {
      this.byEmail.delete(email);
      this.archivedByEmail.set(email, c);
    }
    this.liveCount -= 1;
    this.version += 1;
    this.emit({ kind: 'deletion', objectId: c.id, at, source });
  }

  /** Merges `merged` into `primary`: the primary keeps its id and its non-empty values. */
  merge(primary: ContactRecord, merged: ContactRecord, source: ChangeSource, at = this.clock.now()): void {
    const values = new Map<string, string>();
    let moved = 0;
    for (const [name, value] of Object.entries(merged.props)) {
      if (value === undefined) continue;
      const mine = primary.props[name];
      if (name === 'email' || name === 'hs_merged_object_ids' || name === 'hs_additional_emails') continue;
      if (SUMMED_ON_MERGE.has(name)) {
        values.set(name, String(Number(mine ?? 0) + Number(value)));
      } else if (mine !== undefined && LATEST_ON_MERGE.has(name)) {
        values.set(name, String(Math.max(Number(mine), Number(value))));
      } else if (mine !== undefined && EARLIEST_ON_MERGE.has(name)) {
        values.set(name, String(Math.min(Number(mine), Number(value))));
      } else if (mine === undefined) {
        values.set(name, String(value));
        moved += 1;
      }
    }
    const mergedIds = [textOf(primary.props, 'hs_merged_object_ids'), merged.id, textOf(merged.props, 'hs_merged_object_ids')]
      .filter((v): v is string => Boolean(v))
      .join(';');
    values.set('hs_merged_object_ids', mergedIds);
    const extraEmails = [textOf(primary.props, 'hs_additional_emails'), textOf(merged.props, 'email'), textOf(merged.props, 'hs_additional_emails')]
      .filter((v): v is string => Boolean(v))
      .join(';');
    if (extraEmails) values.set('hs_additional_emails', extraEmails);

    this.holdSearchState(merged, at);
    merged.mergedInto = primary.id;
    this.liveCount -= 1;
    const mergedEmail = textOf(merged.props, 'email')?.toLowerCase();
    // The merged-away address now belongs to the survivor: a new contact with it is a duplicate.
    if (mergedEmail && this.byEmail.get(mergedEmail) === merged) this.byEmail.set(mergedEmail, primary);
    this.emit({ kind: 'merge', objectId: primary.id, at, source, mergedObjectIds: [merged.id], numberOfPropertiesMoved: moved });
    this.update(primary, values, source, at);
    this.version += 1;
  }

  /** Keeps the state search last indexed until the lag has passed. */
  private holdSearchState(c: ContactRecord, at: number): void {
    const lag = this.searchIndexLagMs;
    if (lag <= 0) return;
    if (c.pending && at < c.pending.until) c.pending.until = at + lag;
    else c.pending = { state: snapshotOf(c), until: at + lag };
    this.pendingUntil = Math.max(this.pendingUntil, at + lag);
  }

  // --- owners ---

  loadOwner(owner: OwnerRecord): void {
    this.owners.set(owner.id, owner);
  }

  listOwners(): OwnerRecord[] {
    return [...this.owners.values()].sort((a, b) => Number(a.id) - Number(b.id));
  }

  getOwner(id: string): OwnerRecord | undefined {
    return this.owners.get(id);
  }

  private ownerOptions(): PropertyOption[] {
    return this.listOwners()
      .filter((o) => !o.archived)
      .map((o, i) => ({ label: `${o.firstName} ${o.lastName} (${o.email})`, value: o.id, displayOrder: i, hidden: false }));
  }
}

/** A span of lastmodifieddate; an open end excludes its time. */
export interface TimeRange {
  from: number;
  fromOpen: boolean;
  to: number;
  toOpen: boolean;
}

/** The first position of ascending `keys` at or above `x`. */
function firstAtOrAbove(keys: readonly number[], x: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first position of ascending `keys` above `x`. */
function firstAbove(keys: readonly number[], x: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
