/**
 * How held values are kept in Redis (src/store/held-codec.ts): small, read back exactly (a cleared
 * value stays distinct from an unknown one), and values an earlier version wrote as JSON still read
 * and merge.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../../src/store/keys.js';
import { HeldStore } from '../../../src/store/held.js';
import type { HeldValues } from '../../../src/store/held.js';
import type { SmkValues } from '../../../src/sync/plan.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

const LEAD = 'L6891c07366fd82aaad8b';

/** What a HubSpot contact holds after the benchmark's full sync (taken from one). */
const TYPICAL = {
  slaBreachedAt: null, score: '100', 'field:state': null, 'field:firstName': 'Chen', 'field:phone': '+1 (555) 140-1840',
  scoreReasons: '+42 Form submission ×3 (latest 3 days ago); +19 Page view ×38 (latest 31 days ago); +15 200+ employees; +15 Email click ×7 (latest today, capped); +10 Website visit ×13 (latest 31 days ago, capped)',
  'field:lastName': 'Lovelace', 'field:mobile': null, likelihood: null, grade: 'hot', slaStatus: 'running', handoffAt: '2026-12-06T12:55:06.344Z',
  likelihoodReasons: null, 'field:employees': '23692', fitScore: '20', 'field:website': 'cyberdyneltd.example.com', disqualifyReason: null,
  engagementScore: '87', 'field:leadStatus': 'OPEN', 'field:company': 'Cyberdyne Ltd', 'field:title': 'Sales Development Representative',
  'field:country': 'GB', 'field:postalCode': null, salesNotes: null, salesDecision: null, 'field:city': 'London', leadId: LEAD,
  slaDueAt: '2026-12-07T13:00:00.000Z', leadQuality: null, rejectReason: null, 'field:street': null, 'field:annualRevenue': '2131427088',
  'field:leadSource': 'SOCIAL_MEDIA', 'field:email': 'chen.lovelace1840@cyberdyneltd.example.com', stage: 'mql', 'field:industry': 'Non-Profit',
} as SmkValues;

/** The JSON the previous version's script stored: cleared values as '', no owner as ''. */
function previousVersionJson(values: Record<string, string | null>, at: number, ownerId: string, lifecycle?: string): string {
  const stored: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) stored[k] = v ?? '';
  return JSON.stringify({ at, ...(lifecycle !== undefined ? { lifecycle } : {}), values: stored, ownerId });
}

/**
 * What the store promised before this encoding: a read replaces everything unless a write happened
 * after the read began; a write merges (the latest time, the owner and stage when given, each value
 * given). Cleared ('' or null or undefined) reads back as null, no owner as null, no stage as absent.
 */
function modelRecord(state: HeldValues | null, mode: 'read' | 'write', values: Record<string, string | null | undefined>, at: number, ownerId: string | null, lifecycle: string | null): HeldValues | null {
  const given: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(values)) given[name] = value ? value : null;
  if (mode === 'read') {
    if (state && state.at > at) return state;
    return { values: given as SmkValues, at, ownerId: ownerId || null, ...(lifecycle ? { lifecycle } : {}) };
  }
  const current = state ?? { values: {}, at: 0, ownerId: null };
  return {
    values: { ...current.values, ...given } as SmkValues,
    at: Math.max(current.at, at),
    ownerId: ownerId || current.ownerId,
    ...(lifecycle || current.lifecycle ? { lifecycle: lifecycle || current.lifecycle } : {}),
  };
}

const NAMES = ['score', 'grade', 'leadId', 'scoreReasons', 'likelihoodReasons', 'field:email', 'field:leadStatus', 'field:custom', 'futureName'];
const valuesArb = fc.dictionary(fc.constantFrom(...NAMES), fc.constantFrom<string | null | undefined>(null, undefined, '', '0', 'hot', 'ünï "q"', 'x'.repeat(40), LEAD), { maxKeys: 5 });
const recordArb = fc.record({
  mode: fc.constantFrom<'read' | 'write'>('read', 'write'),
  values: valuesArb,
  at: fc.integer({ min: 0, max: 4 }).map((n) => 1_000 * n),
  ownerId: fc.constantFrom<string | null>(null, '', '77', '005A'),
  lifecycle: fc.constantFrom<string | null>(null, '', 'lead', 'mql'),
});

describe('held values in Redis', () => {
  let t: TestRedis;
  beforeAll(async () => {
    t = await testRedis('held-encoding');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('keeps a typical record in under 800 bytes of Redis memory (the JSON took 1,400), and reads it back whole', async () => {
    const keys = createKeys(t.prefix);
    const held = new HeldStore(t.redis, keys);
    await held.recordRead('hubspot', LEAD, TYPICAL, 1796561716455, '7000001', 'mql');
    const bytes = Number(await t.redis.call('MEMORY', 'USAGE', keys.written('hubspot', LEAD), 'SAMPLES', '0'));
    expect(bytes).toBeLessThan(800);
    expect(await held.get('hubspot', LEAD)).toEqual({ values: TYPICAL, at: 1796561716455, ownerId: '7000001', lifecycle: 'mql' });
  });

  it('tells a cleared value from an unknown one, keeps names it has no code for, and a lead id that is not the record\'s lead', async () => {
    const held = new HeldStore(t.redis, createKeys(t.prefix));
    const values = {
      score: '0', grade: null, leadId: 'Lsomeoneelse', 'field:favouriteColour': 'teal', 'field:shoeSize': null, futureSmkField: 'x', 'field:': '',
      'field:street': 'Hauptstraße 1\n"Hinterhaus" \\ 2/3', salesNotes: 'x'.repeat(300),
    } as SmkValues;
    await held.recordRead('salesforce', 'L1', values, 1000, null, null);
    expect(await held.get('salesforce', 'L1')).toEqual({
      values: { ...values, 'field:': null },
      at: 1000, ownerId: null,
    });
    // Unknown stays unknown after a write of other fields; a write of the custom names merges by name.
    await held.recordWritten('salesforce', 'L1', { likelihood: '0.4', 'field:shoeSize': '44', leadId: 'L1' } as SmkValues, 900, '005A');
    const merged = await held.get('salesforce', 'L1');
    expect(merged).toEqual({
      values: { ...values, 'field:': null, likelihood: '0.4', 'field:shoeSize': '44', leadId: 'L1' },
      at: 1000, ownerId: '005A',
    });
    expect(merged?.values).not.toHaveProperty('stage');
    expect(merged?.values).not.toHaveProperty('field:mobile');
  });

  it('reads values the previous version stored as JSON, and merges a write into them', async () => {
    const keys = createKeys(t.prefix);
    const held = new HeldStore(t.redis, keys);
    const old = { score: '10', grade: '', leadId: 'L2', 'field:title': 'CTO', 'field:custom': 'a', slaStatus: null } as Record<string, string | null>;
    await t.redis.set(keys.written('hubspot', 'L2'), previousVersionJson(old, 2000, '77', 'lead'));
    expect(await held.get('hubspot', 'L2')).toEqual({
      values: { score: '10', grade: null, leadId: 'L2', 'field:title': 'CTO', 'field:custom': 'a', slaStatus: null }, at: 2000, ownerId: '77', lifecycle: 'lead',
    });
    // A read that began before the stored values were known does not replace them.
    await held.recordRead('hubspot', 'L2', { score: '1' }, 1500, null, null);
    expect((await held.get('hubspot', 'L2'))?.values.score).toBe('10');
    // A write merges into them: untouched names stay, the owner and stage stay when the write has none.
    await held.recordWritten('hubspot', 'L2', { score: '20', stage: 'mql', 'field:custom': null, 'field:other': 'b' } as SmkValues, 1800);
    expect(await held.get('hubspot', 'L2')).toEqual({
      values: { score: '20', grade: null, leadId: 'L2', 'field:title': 'CTO', 'field:custom': null, 'field:other': 'b', slaStatus: null, stage: 'mql' },
      at: 2000, ownerId: '77', lifecycle: 'lead',
    });
    // ...and is stored in the new encoding from then on.
    expect((await t.redis.getBuffer(keys.written('hubspot', 'L2')))?.[0]).toBe(1);
  });

  it('reads the previous version\'s JSON with no owner, no stage and no values', async () => {
    const keys = createKeys(t.prefix);
    const held = new HeldStore(t.redis, keys);
    await t.redis.set(keys.written('salesforce', 'L3'), '{"at":5,"values":{},"ownerId":"","lifecycle":""}');
    expect(await held.get('salesforce', 'L3')).toEqual({ values: {}, at: 5, ownerId: null });
    await held.recordWritten('salesforce', 'L3', {}, 4);
    expect(await held.get('salesforce', 'L3')).toEqual({ values: {}, at: 5, ownerId: null });
    await held.recordRead('salesforce', 'L3', { grade: 'hot' }, 6, '005B', null);
    expect(await held.get('salesforce', 'L3')).toEqual({ values: { grade: 'hot' }, at: 6, ownerId: '005B' });
  });

  it('refuses values in an encoding it does not know, instead of misreading or overwriting them', async () => {
    const keys = createKeys(t.prefix);
    const held = new HeldStore(t.redis, keys);
    const newer = Buffer.from([2, 0xcd, 0x03, 0xe8]);
    await t.redis.set(keys.written('hubspot', 'L4'), newer);
    await expect(held.get('hubspot', 'L4')).rejects.toThrow(/encoding version 2/);
    await expect(held.recordWritten('hubspot', 'L4', { score: '1' }, 2000)).rejects.toThrow(/encoding version 2/);
    await expect(held.recordRead('hubspot', 'L4', { score: '1' }, 2000, null, null)).rejects.toThrow(/encoding version 2/);
    expect(await t.redis.getBuffer(keys.written('hubspot', 'L4'))).toEqual(newer);
  });

  it('behaves as before over generated histories of reads and writes, from nothing or from the previous version\'s JSON', async () => {
    const keys = createKeys(`${t.prefix}model:`);
    const held = new HeldStore(t.redis, keys);
    let run = 0;
    await fc.assert(fc.asyncProperty(
      fc.option(fc.record({ values: valuesArb, at: fc.integer({ min: 0, max: 4 }).map((n) => 1_000 * n), ownerId: fc.constantFrom('', '77'), lifecycle: fc.constantFrom(undefined, '', 'lead') }), { nil: null }),
      fc.array(recordArb, { minLength: 1, maxLength: 8 }),
      async (before, history) => {
        run += 1;
        const lead = run % 2 === 0 ? LEAD : `L${run}`;
        // A failed run leaves its key behind: each run starts from nothing (or the JSON it sets).
        await held.forget('hubspot', lead);
        let model: HeldValues | null = null;
        if (before) {
          await t.redis.set(keys.written('hubspot', lead), previousVersionJson(before.values as Record<string, string | null>, before.at, before.ownerId, before.lifecycle));
          model = modelRecord(null, 'read', before.values, before.at, before.ownerId, before.lifecycle ?? null);
        }
        for (const step of history) {
          if (step.mode === 'read') await held.recordRead('hubspot', lead, step.values as SmkValues, step.at, step.ownerId, step.lifecycle);
          else await held.recordWritten('hubspot', lead, step.values as SmkValues, step.at, step.ownerId, step.lifecycle);
          model = modelRecord(model, step.mode, step.values, step.at, step.ownerId, step.lifecycle);
          expect(await held.get('hubspot', lead)).toEqual(model);
        }
      },
    ), { numRuns: 300 });
  });
});
