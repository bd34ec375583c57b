/**
 * The funnel report tells the truth (issue 16, done-when): for a past month, its Lead, Opportunity
 * and Won counts and its won revenue equal a count made directly from both sandboxes through the
 * official clients, by the rules the README states: a person is one email across both CRMs; they
 * became a lead when their first record was created; the opportunity step is the opportunity's
 * creation, the won step its close date; no step is dated after a later one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPeriodFunnel } from '../../../jobs/reports.js';
import { syncOnce } from '../../../jobs/run-once.js';
import { startHarness } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncInPhases } from '../../reliability/helpers/phased-sync.js';
import { ENGINE_CONFIG } from './setup.js';

const DAY = 86_400_000;

interface Truth {
  leads: number;
  opportunities: number;
  won: number;
  wonRevenue: number;
}

describe('the funnel report against the sandboxes', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ people: 300, seed: 17, label: 'funnel-truth', configYaml: ENGINE_CONFIG });
    for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
    await syncInPhases(h.runtime.ctx);
    await syncOnce(h.runtime.ctx, { timeoutMs: 90_000 });
  }, 240_000);

  afterAll(async () => {
    await h?.close();
  });

  /** Counted straight from the CRMs for [from, to) (UTC days). */
  async function truth(from: number, to: number): Promise<Truth> {
    const inRange = (ms: number) => ms >= from && ms < to;
    const firstSeen = new Map<string, number>();
    const seen = (email: string | null | undefined, ms: number) => {
      if (!email) return;
      const key = email.trim().toLowerCase();
      firstSeen.set(key, Math.min(firstSeen.get(key) ?? Number.POSITIVE_INFINITY, ms));
    };
    for (const c of await h.hubspot.crm.contacts.getAll(undefined, undefined, ['email', 'createdate'])) seen(c.properties.email, Date.parse(c.properties.createdate as string));
    const contactEmail = new Map<string, string>();
    for (const object of ['Lead', 'Contact'] as const) {
      const rows = await h.salesforce.query<{ Id: string; Email: string | null; CreatedDate: string }>(`SELECT Id, Email, CreatedDate FROM ${object}`, { autoFetch: true, maxFetch: 100_000 });
      for (const r of rows.records) {
        seen(r.Email, Date.parse(r.CreatedDate));
        if (object === 'Contact' && r.Email) contactEmail.set(r.Id, r.Email.trim().toLowerCase());
      }
    }
    const opps = await h.salesforce.query<{ Id: string; CreatedDate: string; CloseDate: string; IsWon: boolean; Amount: number | null }>('SELECT Id, CreatedDate, CloseDate, IsWon, Amount FROM Opportunity', { autoFetch: true, maxFetch: 100_000 });
    const roles = await h.salesforce.query<{ OpportunityId: string; ContactId: string }>('SELECT OpportunityId, ContactId FROM OpportunityContactRole', { autoFetch: true, maxFetch: 100_000 });
    const oppById = new Map(opps.records.map((o) => [o.Id, o]));
    const oppsOfPerson = new Map<string, string[]>();
    for (const r of roles.records) {
      const email = contactEmail.get(r.ContactId);
      if (email) oppsOfPerson.set(email, [...(oppsOfPerson.get(email) ?? []), r.OpportunityId]);
    }
    const result: Truth = { leads: 0, opportunities: 0, won: 0, wonRevenue: 0 };
    for (const [email, created] of firstSeen) {
      const ids = oppsOfPerson.get(email) ?? [];
      // The seeded world gives a person at most one opportunity, so "which one" needs no rule here.
      expect(ids.length, `${email} is on at most one opportunity`).toBeLessThanOrEqual(1);
      const opp = ids[0] === undefined ? undefined : oppById.get(ids[0]);
      const won = opp?.IsWon ? Date.parse(`${opp.CloseDate}T00:00:00Z`) : Number.POSITIVE_INFINITY;
      const opened = opp ? Math.min(Date.parse(opp.CreatedDate), won) : Number.POSITIVE_INFINITY;
      if (inRange(Math.min(created, opened))) result.leads += 1;
      if (opp && inRange(opened)) result.opportunities += 1;
      if (opp?.IsWon && inRange(won)) {
        result.won += 1;
        result.wonRevenue += opp.Amount ?? 0;
      }
    }
    return result;
  }

  it('counts for each of the last three months what the CRMs hold', async () => {
    const now = new Date(h.runtime.ctx.clock.now());
    let checked = 0;
    for (let back = 1; back <= 3; back += 1) {
      const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1);
      const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back + 1, 1);
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const report = await readPeriodFunnel(h.runtime.ctx, { from: day(start), to: day(end - DAY) });
      const counts = Object.fromEntries(report.steps.map((s) => [s.stage, s.count]));
      const expected = await truth(start, end);
      expect({ leads: counts.lead, opportunities: counts.opportunity, won: counts.won, wonRevenue: report.revenue.won }, `${day(start)}..${day(end - DAY)}`).toEqual(expected);
      if (expected.leads > 0 && expected.opportunities > 0) checked += 1;
    }
    // The months were not empty: the comparison meant something.
    expect(checked).toBeGreaterThan(0);
  }, 120_000);
});
