/**
 * The two CRMs' full reads go to two workers when there are two. A full read ingests as it reads,
 * and that is CPU: at a million people each read is about twenty minutes of one core. A worker
 * fetches as many poll jobs as it has slots (two), so the worker that woke first took both reads
 * and the other worker's core sat idle. A worker already reading one CRM in full now hands a second
 * full read back, a moment later, to any other worker of the poll queue; with no other worker (or
 * after a few tries) it reads it itself, as before.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChangePage } from '../../../connectors/types.js';
import type { QueueName } from '../../../jobs/queues.js';
import { startWorkers } from '../../../jobs/workers.js';
import type { WorkerSet } from '../../../jobs/workers.js';
import { leadFragmentSchema } from '../../../src/model/lead.js';
import type { CrmName } from '../../../src/model/lead.js';
import { startHarness } from '../../server/helpers.js';
import type { ServerHarness } from '../../server/helpers.js';

let h: ServerHarness;
const sets: WorkerSet[] = [];

beforeAll(async () => {
  h = await startHarness('full-read-spread');
});
afterEach(async () => {
  await Promise.all(sets.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Six slow pages of one person each: a full read of about 600 ms. */
function slowReadAll(crm: CrmName, events: string[]): () => AsyncIterable<ChangePage> {
  return async function* readAll() {
    events.push(`${crm} read`);
    for (let i = 0; i < 6; i += 1) {
      await sleep(100);
      const object = crm === 'hubspot' ? 'contact' : 'Lead';
      const fragment = leadFragmentSchema.parse({ source: crm, recordId: `${crm === 'hubspot' ? '' : '00Q'}${9000 + i}`, object, email: `spread${i}@example.com`, modifiedAt: new Date().toISOString(), person: {} });
      yield { stream: object, fragments: [fragment], removed: [], problems: [], position: null };
    }
    events.push(`${crm} read done`);
  };
}

/** A worker set of the poll queue alone, counting the poll jobs it completed. */
function pollSet(done: Map<string, number>, name: string): WorkerSet {
  const set = startWorkers(h.ctx, {
    queues: ['poll'] as QueueName[],
    observer: { completed: (queue) => void (queue === 'poll' && done.set(name, (done.get(name) ?? 0) + 1)), failed: () => undefined },
  });
  sets.push(set);
  return set;
}

async function until(check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(25);
  }
}

describe('the initial full reads of both CRMs', () => {
  it('go to two workers when a second one is there', async () => {
    const done = new Map<string, number>();
    const events: string[] = [];
    for (const crm of ['hubspot', 'salesforce'] as const) h.connectors[crm].readAll = slowReadAll(crm, events);
    const aPoll = pollSet(done, 'A').workers[0];
    const bPoll = pollSet(done, 'B').workers[0];
    // B is there (a worker of the poll queue) but asleep while A wakes to both jobs.
    await bPoll?.pause(true);
    await h.ctx.queues.poll.add('poll', { crm: 'hubspot', full: true });
    await h.ctx.queues.poll.add('poll', { crm: 'salesforce', full: true });
    await sleep(100);
    // Then A takes no more jobs (it goes on with those it has) and B does: in a real run A is busy
    // ingesting, and B, idle, is the one to take a job handed back.
    await aPoll?.pause(true);
    bPoll?.resume();
    await until(() => (done.get('A') ?? 0) + (done.get('B') ?? 0) === 2);
    expect(Object.fromEntries(done)).toEqual({ A: 1, B: 1 });
    // Each CRM was read once in all: a read handed back had not begun.
    expect(events.filter((e) => e.endsWith(' read')).sort()).toEqual(['hubspot read', 'salesforce read']);
  });

  it('are both read by the one worker there is, without waiting', async () => {
    const done = new Map<string, number>();
    const events: string[] = [];
    for (const crm of ['hubspot', 'salesforce'] as const) h.connectors[crm].readAll = slowReadAll(crm, events);
    pollSet(done, 'A');
    await h.ctx.queues.poll.add('poll', { crm: 'hubspot', full: true });
    await h.ctx.queues.poll.add('poll', { crm: 'salesforce', full: true });
    await until(() => (done.get('A') ?? 0) === 2);
    // Side by side, as before: each read began before the other ended.
    expect(events.slice(0, 2).sort()).toEqual(['hubspot read', 'salesforce read']);
  });
});
