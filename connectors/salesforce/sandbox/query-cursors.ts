/**
 * Server-side query cursors behind `nextRecordsUrl` (`/services/data/vXX.X/query/01g...-2000`).
 * A cursor holds the matched rows (references, projected per page) and expires after 15 minutes
 * without use by the SandboxClock, like Salesforce's; the map is an LRU bounded in cursors and rows.
 */
import type { SandboxClock } from '../../sandbox/common.js';
import type { SObjectSchema } from './objects.js';
import type { SelectNode } from './soql/paths.js';
import { makeId } from './values.js';
import type { SfRecord } from './values.js';

export interface Cursor {
  id: string;
  schema: SObjectSchema;
  /** The compiled select list: fields and parent relationships, read afresh for each page. */
  select: readonly SelectNode[];
  rows: SfRecord[];
  batchSize: number;
  lastUsed: number;
}

export interface CursorLimits {
  ttlMs: number;
  maxCursors: number;
  maxRows: number;
}

const LOCATOR_RE = /^(01g[0-9A-Za-z]{15})-(\d+)$/;

export class QueryCursors {
  private cursors = new Map<string, Cursor>();
  private rowsHeld = 0;
  private counter = 0;

  constructor(
    private readonly clock: SandboxClock,
    private readonly limits: CursorLimits = { ttlMs: 15 * 60_000, maxCursors: 100, maxRows: 5_000_000 },
  ) {}

  create(schema: SObjectSchema, select: readonly SelectNode[], rows: SfRecord[], batchSize: number): Cursor {
    this.counter += 1;
    const cursor: Cursor = { id: makeId('01g', this.counter), schema, select, rows, batchSize, lastUsed: this.clock.now() };
    this.cursors.set(cursor.id, cursor);
    this.rowsHeld += rows.length;
    this.evict();
    return cursor;
  }

  /** Finds the cursor and offset a locator names, or null when unknown or expired. */
  resolve(locator: string): { cursor: Cursor; offset: number } | null {
    const m = LOCATOR_RE.exec(locator);
    if (!m) return null;
    const cursor = this.cursors.get(m[1] as string);
    if (!cursor) return null;
    const now = this.clock.now();
    if (now - cursor.lastUsed > this.limits.ttlMs) {
      this.drop(cursor);
      return null;
    }
    cursor.lastUsed = now;
    // Most recently used last: Map order is the LRU order.
    this.cursors.delete(cursor.id);
    this.cursors.set(cursor.id, cursor);
    return { cursor, offset: Number(m[2]) };
  }

  clear(): void {
    this.cursors.clear();
    this.rowsHeld = 0;
  }

  private drop(cursor: Cursor): void {
    if (this.cursors.delete(cursor.id)) this.rowsHeld -= cursor.rows.length;
  }

  private evict(): void {
    const now = this.clock.now();
    for (const cursor of this.cursors.values()) {
      if (now - cursor.lastUsed > this.limits.ttlMs) this.drop(cursor);
    }
    for (const cursor of this.cursors.values()) {
      if (this.cursors.size <= this.limits.maxCursors && this.rowsHeld <= this.limits.maxRows) break;
      if (this.cursors.size === 1) break;
      this.drop(cursor);
    }
  }
}
