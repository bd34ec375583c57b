/**
 * Change-feed pages waiting for ingest. A page holds personal values (names, emails, phones): it
 * is kept here, under a key of its own that expires with the job's retention, and the ingest job
 * carries only the key and the records' ids, so job data (shown in the queue UI, kept with failed
 * jobs) names records, never people. A page whose key has expired is read again by its ids.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis.js';
import type { RecordProblem, RemovedRecord } from '../../connectors/types.js';
import type { LeadFragment } from '../model/lead.js';
import type { Keys } from './keys.js';

export interface StoredPage {
  fragments: LeadFragment[];
  removed: RemovedRecord[];
  problems: RecordProblem[];
}

/** As long as a failed job is kept (jobs/queues.ts removeOnFail): Retry can still use the page. */
export const PAGE_TTL_SECONDS = 7 * 86_400;

export class PageStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  async put(page: StoredPage): Promise<string> {
    const id = randomUUID();
    await this.redis.set(this.keys.meta(`page:${id}`), JSON.stringify(page), 'EX', PAGE_TTL_SECONDS);
    return id;
  }

  /** The page, or null when it has expired (or was never stored). Trusted: we wrote it. */
  async get(id: string): Promise<StoredPage | null> {
    const raw = await this.redis.get(this.keys.meta(`page:${id}`));
    return raw ? (JSON.parse(raw) as StoredPage) : null;
  }

  async delete(id: string): Promise<void> {
    await this.redis.del(this.keys.meta(`page:${id}`));
  }
}
