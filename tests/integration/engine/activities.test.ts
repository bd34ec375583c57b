/**
 * Activities reps log in Salesforce (issue 16, item 10): a call logged as a completed Task on the
 * MQL's record is the rep's touch, dated to the minute it was completed, so the SLA is met in both
 * CRMs even when the connector reads it hours later; with sync.activities.engagement on it also
 * scores as engagement, with its reason. The connector's own handoff Task is no touch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../jobs/context.js';
import { syncOnce } from '../../../jobs/run-once.js';
import { growToMql, salesforceRecords, startHarness } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';

type TestClock = Clock & { set(ms: number): Promise<void> };

// Monday 23 November 2026, 10:00 in New York.
const START = Date.parse('2026-11-23T15:00:00Z');
const MINUTE = 60_000;

describe('a call the rep logs in Salesforce', () => {
  let h: Harness;
  let clock: TestClock;
  let contactId: string;
  let email: string;

  async function setTime(ms: number): Promise<void> {
    await clock.set(ms);
    h.sandboxes.clock.set(ms);
  }

  async function sync(): Promise<void> {
    await syncOnce(h.runtime.ctx, { timeoutMs: 90_000 });
  }

  beforeAll(async () => {
    const probe = await startHarness({ people: 60, seed: 33, now: START, label: 'activities-probe' });
    const pool = probe.sandboxes.world.owners.slice(0, 2).map((o) => o.salesforceId);
    await probe.close();
    const config = `
sync:
  batchWait: 200ms
  jobLock: 5s
  writeLease: 5s
  searchSafetyMargin: 0s
  create: { salesforce: mql, salesforceAs: lead, hubspot: always }
  activities: { read: true, engagement: true }
  budget:
    hubspot: { share: 1, perTenSeconds: 100000 }
routing:
  defaultPool: everyone
  pools:
    everyone:
      members: [{ owner: "${pool[0]}" }, { owner: "${pool[1]}" }]
sla:
  firstTouch:
    within: 4h
    calendar: { tz: America/New_York, days: Mon-Fri, hours: "09:00-17:00" }
`;
    h = await startHarness({ people: 60, seed: 33, now: START, label: 'activities', configYaml: config, controllableClock: true });
    clock = h.runtime.ctx.clock as TestClock;
    await setTime(START);
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await sync();
    const person = h.sandboxes.world.people.find((p) => p.hubspot && !p.salesforce && p.country === 'US' && !/@(gmail|yahoo|hotmail|outlook|icloud|gmx|proton)/.test(p.hubspot.email));
    email = person!.hubspot!.email;
    contactId = (await h.hubspot.crm.contacts.basicApi.getById(email, [], undefined, undefined, false, 'email')).id;
    const stage = await growToMql(h, contactId, sync);
    expect(stage).toBe('mql');
  }, 240_000);

  afterAll(async () => {
    await h?.close();
  });

  it('meets the SLA at the minute the call was completed, in both CRMs, though read hours later', async () => {
    const records = await salesforceRecords(h.salesforce, ['OwnerId', 'Smk_SLA_Status__c']);
    const lead = records.find((r) => r.email?.toLowerCase() === email.toLowerCase());
    expect(lead?.values.Smk_SLA_Status__c?.toLowerCase()).toBe('running');
    const before = (await h.hubspot.crm.contacts.basicApi.getById(contactId, ['smk_sla_due_at'])).properties;

    // The rep calls 30 minutes after the handoff and logs it; the connector reads it 3 hours later.
    const calledAt = START + 30 * MINUTE;
    h.sandboxes.clock.set(calledAt);
    await h.salesforce.sobject('Task').create({ WhoId: lead!.id, OwnerId: lead!.values.OwnerId, Subject: 'Intro call', Status: 'Completed', TaskSubtype: 'Call' });
    await setTime(START + 3 * 60 * MINUTE);
    await sync();

    const after = (await h.hubspot.crm.contacts.basicApi.getById(contactId, ['smk_sla_status', 'smk_score_reasons'])).properties;
    expect(after.smk_sla_status).toBe('met');
    const sf = await salesforceRecords(h.salesforce, ['Smk_SLA_Status__c']);
    expect(sf.find((r) => r.id === lead!.id)?.values.Smk_SLA_Status__c?.toLowerCase()).toBe('met');
    const leadId = lead!.leadId as string;
    const met = (await h.runtime.ctx.events.read('0', 10_000)).filter((e) => e.leadId === leadId && e.type === 'sla_met');
    // Dated by the Task's completion (the sandbox's clock runs on from calledAt: within a few seconds).
    expect(met).toHaveLength(1);
    expect(Date.parse(met[0]!.at)).toBeGreaterThanOrEqual(Math.floor(calledAt / 1000) * 1000);
    expect(Date.parse(met[0]!.at)).toBeLessThan(calledAt + 10_000);
    expect(met[0]?.detail).toMatchObject({ cause: 'call logged' });
    expect(Date.parse(before.smk_sla_due_at!)).toBeGreaterThan(calledAt);

    // Scored as engagement, with its reason, once (not "×2": evaluating again does not add it again).
    expect(after.smk_score_reasons).toMatch(/\+10 Call \(today\)/);
  });

  it('reads nothing new and writes nothing on the next pass', async () => {
    const summary = await syncOnce(h.runtime.ctx, { timeoutMs: 90_000 });
    expect(summary.writes).toEqual({ hubspot: 0, salesforce: 0 });
  });
});
