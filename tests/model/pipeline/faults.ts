/**
 * Faults of the layer-2 model, injected into the real runtime of one side without changing jobs/
 * or connectors/: a connector call that fails once with a CrmError TRANSIENT, a writer that stops
 * after its batch reached the CRM but before it was acknowledged, webhook-style ingest jobs
 * duplicated and reordered, and pages read now and delivered late (after newer ones).
 */
import { CrmError } from '../../../connectors/errors.js';
import type { CrmConnector, RecordRef, RemovedRecord } from '../../../connectors/types.js';
import type { SyncContext } from '../../../jobs/context.js';
import { processIngest } from '../../../jobs/ingest.js';
import type { CrmName, LeadFragment } from '../../../src/model/lead.js';
import type { People } from './ops.js';
import { salesforceRecordOf } from './ops.js';
import type { Side } from './side.js';

export type FaultCall = 'read' | 'write' | 'create' | 'changes';

/** Replaces one connector method until `restore`; the replacement decides when to call through. */
function patch<K extends FaultCall>(ctx: SyncContext, crm: CrmName, call: K, make: (original: CrmConnector[K]) => CrmConnector[K]): () => void {
  const connector = ctx.connectors[crm] as CrmConnector & Record<string, unknown>;
  const own = Object.getOwnPropertyDescriptor(connector, call);
  const original = (connector[call] as (...a: unknown[]) => unknown).bind(connector) as CrmConnector[K];
  Object.defineProperty(connector, call, { value: make(original), configurable: true, writable: true });
  return () => {
    if (own) Object.defineProperty(connector, call, own);
    else delete connector[call];
  };
}

export interface Armed {
  /** Whether the fault struck. */
  struck(): boolean;
  restore(): void;
}

/** The next call of `call` fails with a passing CRM error (a 5xx, a reset connection). */
export function armTransient(ctx: SyncContext, crm: CrmName, call: FaultCall): Armed {
  let struck = false;
  const fail = () => new CrmError({ crm, code: 'TRANSIENT', message: `model: ${crm} ${call} failed once (injected)` });
  const restore = patch(ctx, crm, call, (original) => {
    if (call === 'changes') {
      return ((...args: Parameters<CrmConnector['changes']>) => {
        if (struck) return (original as CrmConnector['changes'])(...args);
        struck = true;
        return (async function* () {
          yield* [];
          throw fail();
        })();
      }) as CrmConnector[typeof call];
    }
    return (async (...args: unknown[]) => {
      if (struck) return (original as (...a: unknown[]) => Promise<unknown>)(...args);
      struck = true;
      throw fail();
    }) as unknown as CrmConnector[typeof call];
  });
  return { struck: () => struck, restore };
}

/**
 * A writer stopped mid-batch: the next write call reaches the CRM, and then the worker is gone
 * before it records or acknowledges anything (the batch stays leased until its lease runs out).
 */
export function armStopAfterWrite(ctx: SyncContext, crm: CrmName): Armed {
  let struck = false;
  const restore = patch(ctx, crm, 'write', (original) => (async (updates) => {
    const outcome = await original(updates);
    if (struck) return outcome;
    struck = true;
    throw new Error(`model: the ${crm} writer stopped after its batch of ${updates.length} reached the CRM`);
  }) as CrmConnector['write']);
  return { struck: () => struck, restore };
}

/**
 * An ingest worker stopped mid-page: the next snapshot save lands, and the job dies right after
 * it, with the rest of its page unapplied (BullMQ runs the job again: re-applying is harmless).
 */
export function armStopMidIngest(ctx: SyncContext): Armed {
  let struck = false;
  const leads = ctx.leads as unknown as Record<string, unknown> & { save: SyncContext['leads']['save'] };
  const own = Object.getOwnPropertyDescriptor(leads, 'save');
  const original = leads.save.bind(ctx.leads);
  leads.save = async (stored) => {
    await original(stored);
    if (struck) return;
    struck = true;
    throw new Error('model: the ingest worker stopped after saving one lead of its page');
  };
  return {
    struck: () => struck,
    restore: () => {
      if (own) Object.defineProperty(leads, 'save', own);
      else Reflect.deleteProperty(leads, 'save');
    },
  };
}

/** Every record the user's people have now: what webhooks about them would name. */
export async function currentRefs(side: Side, people: People): Promise<Record<CrmName, RecordRef[]>> {
  const contacts = await side.hubspot.crm.contacts.getAll(100, undefined, ['email']);
  const hubspot: RecordRef[] = [];
  const salesforce: RecordRef[] = [];
  for (const p of people.list) {
    const c = p.email.hubspot ? contacts.find((x) => (x.properties.email ?? '').toLowerCase() === p.email.hubspot) : undefined;
    if (c) hubspot.push({ object: 'contact', id: c.id });
    const rec = await salesforceRecordOf(side, p.email.salesforce);
    if (rec) salesforce.push(rec);
  }
  return { hubspot, salesforce };
}

/**
 * Webhook-style ingest jobs (ids only) about these records: one job per record and CRM, each
 * delivered `copies[i] + 1` times, in the order of `order` (a key per delivery).
 */
export async function enqueueWebhooks(ctx: SyncContext, refs: Record<CrmName, RecordRef[]>, copies: readonly number[], order: readonly number[]): Promise<number> {
  const jobs: Array<{ key: number; crm: CrmName; ref: RecordRef }> = [];
  let i = 0;
  for (const crm of ['hubspot', 'salesforce'] as const) {
    for (const ref of refs[crm]) {
      for (let c = 0; c <= (copies[i % Math.max(1, copies.length)] ?? 0); c += 1) jobs.push({ key: order[jobs.length % Math.max(1, order.length)] ?? 0, crm, ref });
      i += 1;
    }
  }
  jobs.sort((a, b) => a.key - b.key);
  for (const job of jobs) await ctx.queues.ingest.add('webhook', { crm: job.crm, readAt: ctx.clock.now(), refs: [job.ref] });
  return jobs.length;
}

/** A page read now, to be delivered later than pages read after it. */
export interface StashedPage {
  crm: CrmName;
  readAt: number;
  fragments: LeadFragment[];
  removed?: RemovedRecord[];
}

export async function readPage(ctx: SyncContext, crm: CrmName, refs: RecordRef[]): Promise<StashedPage | null> {
  if (refs.length === 0) return null;
  const readAt = ctx.clock.now();
  // An armed fault may strike this read too: it is a read like any other, and is made again.
  const read = await ctx.connectors[crm].read(refs).catch(() => ctx.connectors[crm].read(refs));
  return read.fragments.length > 0 ? { crm, readAt, fragments: read.fragments } : null;
}

/** Delivers stashed pages, the most recently read first: each older one arrives after a newer one. */
export async function deliverLate(ctx: SyncContext, pages: StashedPage[]): Promise<{ stale: number; changed: number }> {
  let stale = 0;
  let changed = 0;
  for (const page of [...pages].reverse()) {
    const result = await processIngest(ctx, { crm: page.crm, readAt: page.readAt, fragments: page.fragments, ...(page.removed ? { removed: page.removed } : {}) });
    stale += result.stale;
    changed += result.changed;
  }
  pages.length = 0;
  return { stale, changed };
}

/**
 * Keeps a copy of every feed page the pass hands to ingest: BullMQ retrying such a job after
 * later pages ran is what `deliverLate` then does with them.
 */
export function keepFeedPages(ctx: SyncContext, into: StashedPage[]): () => void {
  const queue = ctx.queues.ingest as unknown as Record<string, unknown> & { add: SyncContext['queues']['ingest']['add'] };
  const own = Object.getOwnPropertyDescriptor(queue, 'add');
  const add = queue.add.bind(ctx.queues.ingest);
  queue.add = (async (name: string, data: Parameters<typeof add>[1], opts?: Parameters<typeof add>[2]) => {
    if (name === 'page' && data.fragments) into.push({ crm: data.crm, readAt: data.readAt, fragments: data.fragments, ...(data.removed ? { removed: data.removed } : {}) });
    return add(name, data, opts);
  }) as typeof add;
  return () => {
    if (own) Object.defineProperty(queue, 'add', own);
    else Reflect.deleteProperty(queue, 'add');
  };
}
