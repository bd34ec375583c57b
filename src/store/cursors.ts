/** Change-feed positions per CRM. Saved only after the page they cover was durably enqueued. */
import type { RedisClient } from './redis.js';
import { z } from 'zod';
import type { FeedPosition, StreamPosition } from '../../connectors/types.js';
import type { CrmName } from '../model/lead.js';
import type { Keys } from './keys.js';

const positionSchema = z.object({ ts: z.string(), id: z.string() }).nullable();

export class CursorStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  async get(crm: CrmName): Promise<FeedPosition> {
    const raw = await this.redis.hgetall(this.keys.cursor(crm));
    const out: FeedPosition = {};
    for (const [stream, value] of Object.entries(raw)) {
      if (stream.startsWith('_')) continue;
      out[stream] = positionSchema.parse(JSON.parse(value));
    }
    return out;
  }

  async set(crm: CrmName, stream: string, position: StreamPosition | null): Promise<void> {
    await this.redis.hset(this.keys.cursor(crm), stream, JSON.stringify(position));
  }

  async markSynced(crm: CrmName, at: number): Promise<void> {
    await this.redis.hset(this.keys.cursor(crm), '_lastSyncAt', String(at));
  }

  async lastSyncAt(crm: CrmName): Promise<number | null> {
    const v = await this.redis.hget(this.keys.cursor(crm), '_lastSyncAt');
    return v ? Number(v) : null;
  }

  async clear(crm: CrmName): Promise<void> {
    await this.redis.del(this.keys.cursor(crm));
  }
}
