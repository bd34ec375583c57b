/**
 * A realistic store for the dashboard: 48 leads across the funnel from four sources over the last
 * 40 days, four open opportunities closing in the next weeks and three won deals, SLAs met,
 * breached and running, sales decisions with reasons, the audit trail, and a few sync errors.
 * Written through the stores (LeadStore.save, EventStore.append, SyncErrorStore.record) like the
 * pipeline writes them. The expected figures below are what the seed was built to produce.
 */
import type { SyncContext } from '../../jobs/context.js';
import type { Lead, Stage } from '../../src/model/lead.js';
import type { AuditEvent } from '../../src/store/events.js';

export const EXPECTED = {
  /** Every lead's steps, all within the last 40 days. */
  funnel: { lead: 48, mql: 34, sal: 21, sql: 13, opportunity: 7, won: 3 },
  /** Open opportunities 10,000 + 2,500 each, closing 5 to 20 days from now; won 8,000 + 4,000 each. */
  revenue: { pipeline: 55_000, pipelineDeals: 4, won: 36_000, wonDeals: 3 },
  sla: { met: 21, breached: 7, running: 6, compliance: '75%', median: '2 h' },
  feedback: { accepted: 21, rejected: 5 },
};

export const OWNERS = [
  { id: '005000000000001AAA', email: 'dana.reyes@example.com', name: 'Dana Reyes', active: true },
  { id: '005000000000002AAA', email: 'sam.okafor@example.com', name: 'Sam Okafor', active: true },
  { id: '005000000000003AAA', email: 'lee.park@example.com', name: 'Lee Park', active: true },
  // More owners than the by-owner table shows at first (it says so, and shows them all on request).
  { id: '005000000000004AAA', email: 'ines.moreau@example.com', name: 'Ines Moreau', active: true },
  { id: '005000000000005AAA', email: 'tom.becker@example.com', name: 'Tom Becker', active: true },
  { id: '005000000000006AAA', email: 'aiko.tanaka@example.com', name: 'Aiko Tanaka', active: true },
  { id: '005000000000007AAA', email: 'omar.haddad@example.com', name: 'Omar Haddad', active: true },
  { id: '005000000000008AAA', email: 'priya.nair@example.com', name: 'Priya Nair', active: true },
  { id: '005000000000009AAA', email: 'jonas.berg@example.com', name: 'Jonas Berg', active: true },
  { id: '005000000000010AAA', email: 'marta.silva@example.com', name: 'Marta Silva', active: true },
  { id: '005000000000011AAA', email: 'kwame.mensah@example.com', name: 'Kwame Mensah', active: true },
  { id: '005000000000012AAA', email: 'sofia.rossi@example.com', name: 'Sofia Rossi', active: true },
  { id: '005000000000013AAA', email: 'liam.walsh@example.com', name: 'Liam Walsh', active: true },
  { id: '005000000000014AAA', email: 'yara.nassar@example.com', name: 'Yara Nassar', active: true },
];

const SOURCES = ['Webinar', 'Paid search', 'Organic search', 'Partner referral'];
const CAMPAIGNS = ['Q1 product launch', 'Brand always-on', 'Partner summit'];
const PATHS: Array<[Stage, Stage[], number]> = [
  ['lead', [], 14],
  ['mql', ['mql'], 10],
  ['sal', ['mql', 'sal'], 8],
  ['sql', ['mql', 'sal', 'sql'], 6],
  ['opportunity', ['mql', 'sal', 'sql', 'opportunity'], 4],
  ['customer', ['mql', 'sal', 'sql', 'opportunity', 'customer'], 3],
  ['recycled', ['mql', 'recycled'], 3],
];
const FIRST_NAMES = ['Ava', 'Ben', 'Chloe', 'Diego', 'Elif', 'Farah', 'Gus', 'Hana', 'Ivan', 'Jade', 'Kofi', 'Lena'];
const REJECTS = ['No budget this year', 'Student, not a buyer', 'No budget this year', 'Outside our regions', 'Student, not a buyer'];

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

export async function seedDashboard(ctx: SyncContext, now: number): Promise<{ errorIds: string[] }> {
  let n = 0;
  let met = 0;
  let mqlSeen = 0;
  let rejected = 0;
  let open = 0;
  let won = 0;
  const events: AuditEvent[] = [];
  for (const [current, history, count] of PATHS) {
    for (let i = 0; i < count; i += 1) {
      n += 1;
      const id = `L${String(n).padStart(4, '0')}`;
      const created = now - (40 - (n % 30)) * DAY;
      const handoffAt = created + 2 * DAY;
      const owner = OWNERS[n % OWNERS.length] as (typeof OWNERS)[number];
      const lead: Lead = {
        id,
        email: `${(FIRST_NAMES[n % FIRST_NAMES.length] as string).toLowerCase()}.${n}@acme-${n % 7}.example`,
        updatedAt: iso(now - n * 60_000),
        links: { hubspot: { id: String(5000 + n) }, salesforce: { object: 'Lead', id: `00Q00000000${String(n).padStart(4, '0')}AAA` } },
        person: { firstName: FIRST_NAMES[n % FIRST_NAMES.length], lastName: 'Example', title: n % 3 === 0 ? 'VP Marketing' : 'Analyst', country: n % 2 ? 'US' : 'DE' },
        company: { name: `Acme ${n % 7}`, domain: `acme-${n % 7}.example`, employees: 50 + (n % 5) * 120 },
        marketing: { source: SOURCES[n % SOURCES.length], campaign: CAMPAIGNS[n % CAMPAIGNS.length], engagement: [] },
        sales: {},
        stage: {
          current,
          history: [
            { stage: 'lead', at: iso(created), cause: 'first seen' },
            ...history.map((stage, k) => ({ stage, at: iso(handoffAt + k * DAY), cause: k === 0 ? 'score reached the MQL threshold' : 'sales status' })),
          ],
        },
      };
      const opportunityAt = handoffAt + 3 * DAY;
      if (current === 'opportunity') {
        lead.sales = { opportunityId: `006OPEN${open}`, opportunityCreatedAt: iso(opportunityAt), opportunityWon: null, opportunityStage: 'Proposal', opportunityAmount: 10_000 + 2_500 * open, opportunityCloseDate: iso(now + (5 + 5 * open) * DAY).slice(0, 10) };
        open += 1;
      }
      if (current === 'customer') {
        lead.sales = { opportunityId: `006WON${won}`, opportunityCreatedAt: iso(opportunityAt), opportunityWon: true, opportunityStage: 'Closed Won', opportunityAmount: 8_000 + 4_000 * won, opportunityCloseDate: iso(handoffAt + 4 * DAY).slice(0, 10) };
        won += 1;
      }
      if (history.includes('mql')) {
        lead.sales.ownerId = owner.id;
        events.push({ type: 'mql', leadId: id, at: iso(handoffAt), detail: {} }, { type: 'handoff', leadId: id, at: iso(handoffAt), detail: { ownerId: owner.id } });
        if (current === 'mql') {
          // The first six still have time; the last four ran out of it.
          mqlSeen += 1;
          const breached = mqlSeen > 6;
          lead.sla = breached
            ? { status: 'breached', startedAt: iso(handoffAt), handoffAt: iso(handoffAt), dueAt: iso(handoffAt + 4 * 3_600_000), breachedAt: iso(handoffAt + 4 * 3_600_000), escalations: 1 }
            : { status: 'running', startedAt: iso(now - 3_600_000), handoffAt: iso(now - 3_600_000), dueAt: iso(now + 3 * 3_600_000), escalations: 0 };
          if (breached) events.push({ type: 'sla_breached', leadId: id, at: iso(handoffAt + 4 * 3_600_000), detail: {} });
          if (breached && mqlSeen > 8) lead.sales.decision = 'rejected';
        } else if (current === 'recycled') {
          lead.sla = { status: 'breached', startedAt: iso(handoffAt), handoffAt: iso(handoffAt), dueAt: iso(handoffAt + 4 * 3_600_000), breachedAt: iso(handoffAt + 4 * 3_600_000), escalations: 0 };
          lead.sales.decision = 'rejected';
          events.push({ type: 'sla_breached', leadId: id, at: iso(handoffAt + 4 * 3_600_000), detail: {} });
        } else {
          // Met: first touch 20, 30, ... 220 minutes after handoff (median 120 minutes).
          const touch = (20 + 10 * met) * 60_000;
          met += 1;
          lead.sla = { status: 'met', startedAt: iso(handoffAt), handoffAt: iso(handoffAt), dueAt: iso(handoffAt + 4 * 3_600_000), metAt: iso(handoffAt + touch), escalations: 0 };
          lead.sales = { ...lead.sales, decision: 'accepted', qualityRating: 3 + (n % 3), status: 'Working' };
          events.push({ type: 'sla_met', leadId: id, at: iso(handoffAt + touch), detail: {} });
        }
        if (lead.sales.decision === 'rejected') {
          lead.sales.rejectReason = REJECTS[rejected % REJECTS.length];
          lead.sales.qualityRating = 1 + (rejected % 2);
          rejected += 1;
        }
      }
      await ctx.leads.save({ lead, views: {} });
    }
  }
  await ctx.events.append(events);

  const errors = [
    await ctx.errors.record({ crm: 'hubspot', object: 'contact', recordId: '5007', leadId: 'L0007', code: 'VALIDATION', stage: 'write', field: 'smk_grade', value: 'tepid', message: 'Property values were not valid: "tepid" is not one of the allowed options (hot, warm, cold)' }, now - 5 * 60_000),
    await ctx.errors.record({ crm: 'salesforce', object: 'Lead', recordId: '00Q000000000012AAA', leadId: 'L0012', code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', stage: 'write', field: 'Company', message: 'Company is required before a Lead can be qualified' }, now - 12 * 60_000),
    await ctx.errors.record({ crm: 'hubspot', object: 'contact', recordId: '5031', leadId: null, code: 'AMBIGUOUS_MATCH', stage: 'identity', field: 'email', message: 'Two Salesforce records share this email; link one by hand' }, now - 40 * 60_000),
    await ctx.errors.record({ crm: 'salesforce', object: null, recordId: null, leadId: null, code: 'QUOTA_EXHAUSTED', stage: 'read', message: 'poll job 118 failed after 3 attempts: salesforce API budget paused until midnight UTC' }, now - 90 * 60_000),
  ];
  await ctx.cursors.markSynced('hubspot', now - 25_000);
  await ctx.cursors.markSynced('salesforce', now - 70_000);
  // Some work in flight, so the queue table has something to show.
  for (let i = 0; i < 5; i += 1) await ctx.queues.ingest.add('webhook', { crm: 'hubspot', readAt: now, refs: [{ object: 'contact', id: String(9000 + i) }] });
  await ctx.queues.writeback.salesforce.add('writeback', { crm: 'salesforce' }, { delay: 60_000 });
  return { errorIds: errors.map((e) => e.id) };
}
