/**
 * Retrying sync errors, for the admin API, the dashboard and `smk errors retry`: each entry is
 * re-run by what failed. A record that could not be read, mapped or linked is read again (by its
 * id: a dead-lettered page keeps its records' ids, so nothing past the cursor is lost); a write
 * that failed re-runs its lead's evaluation, which plans what still differs; a CRM-wide failure
 * polls that CRM again. Entries leave the report when the re-run succeeds, or come back with the
 * CRM's new message when it fails again.
 */
import type { CrmName } from '../src/model/lead.js';
import type { SyncError } from '../src/store/sync-errors.js';
import type { SyncContext } from './context.js';
import { enqueueEvaluate } from './enqueue.js';
import { processIngest } from './ingest.js';
import type { IngestJob } from './queues.js';

export type RetryAction = 'evaluate' | 'reread' | 'poll';

type RecordRef = NonNullable<IngestJob['refs']>[number];

interface RetryPlan {
  leads: Set<string>;
  reads: Map<CrmName, Map<string, RecordRef>>;
  polls: Set<CrmName>;
}

export interface RetryOutcome {
  /** How each entry is retried. */
  actions: Record<RetryAction, number>;
  /** What was queued (or, inline, run): leads to evaluate, records to read, CRMs to poll. */
  queued: { evaluations: number; rereads: number; polls: number };
  /** Inline only: entries that the re-read found still true (they stay in the report). */
  stillTrue: SyncError[];
}

export class NothingToRetryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NothingToRetryError';
  }
}

const READABLE_OBJECTS = new Set(['contact', 'Lead', 'Contact']);
const RECORD_STAGES = new Set<SyncError['stage']>(['read', 'map', 'identity']);

/** Decides what retrying one entry means and adds it to the plan. */
async function planRetry(ctx: SyncContext, entry: SyncError, plan: RetryPlan): Promise<RetryAction> {
  const readable = entry.object !== null && entry.recordId !== null && READABLE_OBJECTS.has(entry.object);
  // What failed was reading, mapping or linking the record: read it again, whatever lead it has.
  if (readable && RECORD_STAGES.has(entry.stage)) {
    addRead(plan, entry.crm, { object: entry.object as RecordRef['object'], id: entry.recordId as string });
    return 'reread';
  }
  const leadId = entry.leadId ?? (entry.object && entry.recordId ? await ctx.leads.linkOf(entry.crm, entry.object, entry.recordId) : null);
  if (leadId && (await ctx.leads.get(leadId))) {
    plan.leads.add(leadId);
    return 'evaluate';
  }
  if (readable) {
    addRead(plan, entry.crm, { object: entry.object as RecordRef['object'], id: entry.recordId as string });
    return 'reread';
  }
  plan.polls.add(entry.crm);
  return 'poll';
}

function addRead(plan: RetryPlan, crm: CrmName, ref: RecordRef): void {
  const reads = plan.reads.get(crm) ?? new Map<string, RecordRef>();
  reads.set(`${ref.object}:${ref.id}`, ref);
  plan.reads.set(crm, reads);
}

/**
 * Retries the entries. Queued (the default): the work goes to the workers and the entries leave
 * the report now. Inline (a CLI with no service running): records are read again here and then,
 * and entries that the read found still true (an AMBIGUOUS_MATCH whose duplicates still exist)
 * are returned and stay; evaluations and polls are queued.
 */
export async function retrySyncErrors(ctx: SyncContext, entries: readonly SyncError[], options: { inline?: boolean } = {}): Promise<RetryOutcome> {
  if (entries.length === 0) throw new NothingToRetryError('there is no sync error to retry (it may have been resolved or retried already)');
  const plan: RetryPlan = { leads: new Set(), reads: new Map(), polls: new Set() };
  const actions: Record<RetryAction, number> = { evaluate: 0, reread: 0, poll: 0 };
  const byEntry = new Map<string, RetryAction>();
  for (const entry of entries) {
    const action = await planRetry(ctx, entry, plan);
    actions[action] += 1;
    byEntry.set(entry.id, action);
  }
  const rereads = [...plan.reads.values()].reduce((n, reads) => n + reads.size, 0);
  const queued = { evaluations: plan.leads.size, rereads, polls: plan.polls.size };
  if (queued.evaluations + queued.rereads + queued.polls === 0) throw new NothingToRetryError('nothing could be queued for these entries');

  await enqueueEvaluate(ctx, plan.leads, 'retry from the sync-errors report');
  for (const crm of plan.polls) await ctx.queues.poll.add('poll', { crm });
  if (!options.inline) {
    for (const [crm, reads] of plan.reads) {
      if (reads.size > 0) await ctx.queues.ingest.add('retry', { crm, readAt: ctx.clock.now(), refs: [...reads.values()] });
    }
    await ctx.errors.remove(entries.map((e) => e.id));
    return { actions, queued, stillTrue: [] };
  }
  // Inline: the entries of re-read records go first, so that whatever the read reports is new.
  const reread = entries.filter((e) => byEntry.get(e.id) === 'reread');
  await ctx.errors.remove(entries.map((e) => e.id));
  for (const [crm, reads] of plan.reads) {
    if (reads.size > 0) await processIngest(ctx, { crm, readAt: ctx.clock.now(), refs: [...reads.values()] });
  }
  const stillTrue = (await Promise.all(reread.map((e) => ctx.errors.get(e.id)))).filter((e): e is SyncError => e !== null);
  return { actions, queued, stillTrue };
}
