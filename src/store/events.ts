/**
 * The audit trail: what happened to which lead and why (MQL, handoff, SLA met or breached,
 * feedback synced, records created). A capped Redis stream; reports and the demo read it.
 */
import type { RedisClient } from './redis.js';
import { z } from 'zod';
import type { Keys } from './keys.js';

export const auditEventSchema = z.object({
  type: z.string(),
  leadId: z.string(),
  at: z.string(),
  detail: z.record(z.string(), z.unknown()).default({}),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;

export class EventStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly maxLen = 200_000,
  ) {}

  async append(events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    const multi = this.redis.multi();
    for (const e of events) {
      multi.xadd(this.keys.events(), 'MAXLEN', '~', String(this.maxLen), '*', 'type', e.type, 'leadId', e.leadId, 'at', e.at, 'detail', JSON.stringify(e.detail));
    }
    await multi.exec();
  }

  /** Events after a stream id ('0' = from the start), oldest first. */
  async read(afterId = '0', count = 1000): Promise<Array<AuditEvent & { id: string }>> {
    const start = afterId === '0' ? '-' : `(${afterId}`;
    const rows = await this.redis.xrange(this.keys.events(), start, '+', 'COUNT', count);
    return rows.map(([id, fields]) => {
      const map: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i] as string] = fields[i + 1] as string;
      return { id, ...auditEventSchema.parse({ type: map.type, leadId: map.leadId, at: map.at, detail: JSON.parse(map.detail ?? '{}') }) };
    });
  }

  async *all(batch = 2000): AsyncIterable<Array<AuditEvent & { id: string }>> {
    let after = '0';
    for (;;) {
      const rows = await this.read(after, batch);
      if (rows.length === 0) return;
      yield rows;
      after = (rows[rows.length - 1] as { id: string }).id;
    }
  }
}
