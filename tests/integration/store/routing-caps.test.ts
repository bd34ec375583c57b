/**
 * Member caps count open leads: a rep at their cap is skipped, and gets leads again once one of
 * theirs is accepted (or converted, recycled, disqualified). Evaluations run through the pipeline's
 * own evaluate job against a real Redis; only leads handed off within routing.capWindowDays count.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processEvaluate } from '../../../jobs/evaluate.js';
import type { Lead } from '../../../src/model/lead.js';
import { makeLead, startHarness } from '../../server/helpers.js';
import type { ServerHarness } from '../../server/helpers.js';

let h: ServerHarness;
const now = () => new Date(h.ctx.clock.now()).toISOString();

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smk-caps-'));
  const path = join(dir, 'smarketing.yaml');
  writeFileSync(path, [
    'routing:',
    '  defaultPool: team',
    '  capWindowDays: 30',
    '  pools:',
    '    team: { members: [{ owner: "005A", weight: 5, cap: 1 }, { owner: "005B" }] }',
    '',
  ].join('\n'));
  h = await startHarness('routing-caps', { env: { SMK_CONFIG: path } });
});

afterAll(async () => {
  await h.close();
});

function mql(id: string): Lead {
  const at = now();
  return makeLead(id, {
    updatedAt: at,
    links: { salesforce: { object: 'Lead', id: `00Q${id.padStart(15, '0')}`.slice(0, 18) } },
    person: { firstName: 'Ana', lastName: id, title: 'VP Sales' },
    company: { name: 'Acme', employees: 500 },
    marketing: { engagement: [{ kind: 'demo_request', at }, { kind: 'meeting', at }], lifecycleStage: 'lead' },
  });
}

async function handOff(id: string): Promise<string | null> {
  await h.ctx.leads.save({ lead: mql(id), views: {} });
  await processEvaluate(h.ctx, id, { bothRead: true });
  const stored = await h.ctx.leads.get(id);
  expect(stored?.lead.stage?.current).toBe('mql');
  return stored?.lead.sales.ownerId ?? null;
}

async function salesChange(id: string, sales: Partial<Lead['sales']>): Promise<string | undefined> {
  const stored = await h.ctx.leads.get(id);
  await h.ctx.leads.save({ ...stored!, lead: { ...stored!.lead, updatedAt: now(), sales: { ...stored!.lead.sales, ...sales } } });
  await processEvaluate(h.ctx, id, { bothRead: true });
  return (await h.ctx.leads.get(id))?.lead.stage?.current;
}

describe('caps on open leads', () => {
  it('skips a rep at their cap of open leads', async () => {
    expect(await handOff('L1')).toBe('005A');
    expect(await handOff('L2')).toBe('005B');
    expect(await h.ctx.openLeads.counts(['005A', '005B'], null)).toEqual({ '005A': 1, '005B': 1 });
  });

  it('releases the place when the rep accepts the lead', async () => {
    expect(await salesChange('L1', { decision: 'accepted' })).toBe('sal');
    expect(await h.ctx.openLeads.counts(['005A'], null)).toEqual({ '005A': 0 });
    expect(await handOff('L3')).toBe('005A');
    expect(await handOff('L4')).toBe('005B');
  });

  it('releases it when the lead is disqualified or rejected and recycled', async () => {
    expect(await salesChange('L3', { decision: 'rejected', rejectReason: 'no-budget' })).toBe('recycled');
    expect(await handOff('L5')).toBe('005A');
    expect(await salesChange('L5', { status: 'Closed - Not Converted', disqualifyReason: 'spam' })).toBe('disqualified');
    expect(await h.ctx.openLeads.counts(['005A'], null)).toEqual({ '005A': 0 });
  });

  it('counts only leads handed off within the window', async () => {
    await h.ctx.openLeads.place('OLD', { ownerId: '005C', since: new Date(Date.now() - 40 * 86_400_000).toISOString() });
    await h.ctx.openLeads.place('NEW', { ownerId: '005C', since: new Date(Date.now() - 2 * 86_400_000).toISOString() });
    expect(await h.ctx.openLeads.counts(['005C'], Date.now() - 30 * 86_400_000)).toEqual({ '005C': 1 });
    // Moving to another owner takes it from the first.
    await h.ctx.openLeads.place('NEW', { ownerId: '005D', since: new Date().toISOString() });
    expect(await h.ctx.openLeads.counts(['005C', '005D'], null)).toEqual({ '005C': 1, '005D': 1 });
  });
});
