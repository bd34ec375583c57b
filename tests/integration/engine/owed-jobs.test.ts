/**
 * `smk sync --once` begins by noting the work already owed: queued evaluations and the SLA timers
 * whose time has come. Every lead with a running SLA has timers waiting days ahead (a million at a
 * million people): the due ones are found from the front of the delayed set, without reading the
 * others.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { owedJobsNow } from '../../../jobs/run-once.js';
import { startHarness } from '../../server/helpers.js';
import type { ServerHarness } from '../../server/helpers.js';

let h: ServerHarness;

beforeAll(async () => {
  h = await startHarness('owed-jobs');
});

afterAll(async () => {
  await h?.close();
});

describe('work owed when a pass begins', () => {
  it('finds the SLA timers due now without reading every timer that is not', async () => {
    const { queues } = h.ctx;
    const day = 86_400_000;
    const later = Array.from({ length: 450 }, (_, i) => ({ name: 'timer', data: { leadId: `Llater${i}`, dueAt: new Date(Date.now() + day).toISOString(), kind: 'due' as const }, opts: { jobId: `sla-later-${i}`, delay: day + i } }));
    await queues.sla.addBulk(later);
    // Due a moment from now, and not promoted: no worker runs here.
    for (let i = 0; i < 3; i += 1) await queues.sla.add('timer', { leadId: `Ldue${i}`, dueAt: new Date().toISOString(), kind: 'due' }, { jobId: `sla-due-${i}`, delay: 20 });
    await queues.sla.add('timer', { leadId: 'Lwaiting', dueAt: new Date().toISOString(), kind: 'reminder' }, { jobId: 'sla-waiting' });
    await new Promise((r) => setTimeout(r, 100));
    expect(await queues.sla.getDelayedCount()).toBe(453);

    let read = 0;
    const original = queues.sla.getJobs.bind(queues.sla);
    const spy = vi.spyOn(queues.sla, 'getJobs').mockImplementation(async (...args: Parameters<typeof original>) => {
      const jobs = await original(...args);
      read += jobs.length;
      return jobs;
    });
    try {
      const owed = await owedJobsNow(h.ctx);
      expect(owed.filter((j) => j.queue === 'sla').flatMap((j) => j.leadIds).sort()).toEqual(['Ldue0', 'Ldue1', 'Ldue2', 'Lwaiting']);
    } finally {
      spy.mockRestore();
    }
    // The due ones, the waiting one, and at most one page of the rest.
    expect(read).toBeLessThanOrEqual(4 + 100);
  });
});
