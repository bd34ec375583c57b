/**
 * One sync pass that reads both CRMs before it evaluates anyone: both change feeds, then ingest
 * until empty, then evaluation and write-back until every queue and pending write is empty.
 *
 * `syncOnce` (jobs/run-once.ts) starts every worker before the Salesforce feed is read, so a
 * HubSpot-only person can be evaluated, and created in Salesforce, before the Salesforce record
 * that already holds them is ingested: a duplicate (see salesforce-creates.test.ts). Suites that
 * are about something else use this pass so that race does not blur what they measure.
 */
import type { SyncContext } from '../../../jobs/context.js';
import { processPoll } from '../../../jobs/poll.js';
import { waitUntilIdle } from '../../../jobs/run-once.js';
import { startWorkers } from '../../../jobs/workers.js';

async function waitForIngest(ctx: SyncContext, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 2) {
    const counts = await ctx.queues.ingest.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    const n = Object.values(counts).reduce((a, b) => a + b, 0);
    quiet = n === 0 ? quiet + 1 : 0;
    if (Date.now() > deadline) throw new Error(`ingest did not finish within ${timeoutMs} ms (${n} jobs left)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function syncInPhases(ctx: SyncContext, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  for (const crm of ['hubspot', 'salesforce'] as const) await processPoll(ctx, crm);
  const ingest = startWorkers(ctx, { queues: ['ingest'] });
  try {
    await waitForIngest(ctx, timeoutMs);
  } finally {
    await ingest.close();
  }
  const rest = startWorkers(ctx, { queues: ['ingest', 'evaluate', 'writeback-hubspot', 'writeback-salesforce', 'reconcile', 'sla'] });
  try {
    await waitUntilIdle(ctx, { timeoutMs });
  } finally {
    await rest.close();
  }
}
