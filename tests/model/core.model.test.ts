/**
 * Layer 1 of the model-based tests (issue 14, item 8): the pure sync core driven in-process by
 * generated histories, thousands a run, no Redis. A history is one person's edits in HubSpot and
 * Salesforce (titles, phones, counters, a conversion, echoes of our own write-back) and the reads
 * the feeds make of them; the reads are delivered once in order (the reference) and again with
 * duplicates, reordering and late retries. Both must end in the same lead, and that lead must be
 * what the design's ownership rules say. The seed is printed; see fc-settings.ts to replay one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LeadFragment, LeadLinks } from '../../src/model/lead.js';
import { leadFragmentSchema, normaliseEmail } from '../../src/model/lead.js';
import { sameValue } from '../../src/sync/equality.js';
import { conversionToVerify, decideIdentity, decideMerge, linkedRecordId } from '../../src/sync/identity.js';
import { mergeFragment } from '../../src/sync/merge.js';
import type { IdentityLookup } from '../../src/sync/identity.js';
import { faultsArbitrary, historyArbitrary, ownershipArbitrary } from './core/arbitraries.js';
import type { Delivery, Fault, StepCheck } from './core/model.js';
import {
  checkTwoWay, comparable, deliver, deliveryOrder, expectedInOrder, inOrder, leadValue, MODEL_PATHS, onlyLead, ownershipWith, pageViewWeight, shellEnv,
} from './core/model.js';
import { applyFragment, cloneShell } from './core/shell.js';
import type { ShellState } from './core/shell.js';
import type { Op } from './core/world.js';
import { play } from './core/world.js';
import { modelParameters } from './fc-settings.js';

const RUNS = 1500;

/** The lead's values on the model's paths, its links and email, against the reference. */
function checkAgainstReference(state: ShellState, ops: readonly Op[], overrides: Parameters<typeof ownershipWith>[0]): void {
  const played = play(ops);
  const ownership = ownershipWith(overrides);
  const expected = expectedInOrder(played.reads, ownership);
  const { lead } = onlyLead(state);
  for (const path of MODEL_PATHS) expect({ path, value: leadValue(lead, path) }).toEqual({ path, value: expected.values[path] });
  expect(lead.sales.converted).toEqual(expected.values['sales.converted']);
  expect(lead.links).toEqual(expected.links);
  expect(lead.email).toBe(expected.email);
  expect(lead.marketing.counters?.pageViews).toBe(expected.pageViews);
  expect(pageViewWeight(lead)).toBe(expected.pageViewWeight);
  expect([...state.errors.entries()]).toEqual([]);
}

/** Per delivery: an older fragment changes nothing, a repeat changes nothing, engagement is never counted twice. */
function checkStep(step: StepCheck, resets: boolean): void {
  const { before, after, applied, delivery } = step;
  const fragment = delivery.read.fragment;
  expect(after.leads.size).toBeLessThanOrEqual(1);
  const held = [...before.leads.values()][0];
  const view = held?.views[fragment.source];
  if (view && view.ref.id === fragment.recordId && Date.parse(fragment.modifiedAt) < Date.parse(view.modifiedAt)) {
    expect(applied.kind, 'a fragment older than the view held of its record').not.toBe('merged');
    expect(after.leads.get(applied.leadId)).toBe(before.leads.get(applied.leadId));
  }
  if (applied.kind !== 'merged') expect(after.leads.get(applied.leadId)).toBe(before.leads.get(applied.leadId));
  // The same fragment again (a duplicated delivery) is no news.
  const again = cloneShell(after);
  const repeat = applyFragment(again, fragment, delivery.read.readAt, new Date(Date.parse('2026-06-01T00:00:00Z') + step.index).toISOString(), envOf.current!);
  if (repeat.kind === 'merged') expect({ changed: repeat.decision.changed, save: repeat.decision.save }).toEqual({ changed: false, save: false });
  const now = [...after.leads.values()][0];
  if (now && !resets) {
    expect(pageViewWeight(now.lead), 'page views counted as engagement = HubSpot\'s counter').toBe(now.lead.marketing.counters?.pageViews ?? 0);
  }
  // With resets some views go unseen (a read before the reset never came), but none is counted twice.
  if (now) expect(pageViewWeight(now.lead)).toBeLessThanOrEqual(totalPageViews.current);
}

const totalPageViews = { current: 0 };

/** The shell environment of the history being checked (checkStep needs it for repeats). */
const envOf: { current: ReturnType<typeof shellEnv> | null } = { current: null };

function runHistory(ops: readonly Op[], faults: readonly Fault[], overrides: Parameters<typeof ownershipWith>[0], resets: boolean): { reference: ShellState; faulty: ShellState; deliveries: Delivery[] } {
  const reference = deliver(play(ops), inOrder(play(ops)), shellEnv(play(ops).world, ownershipWith(overrides)));
  const played = play(ops);
  const env = shellEnv(played.world, ownershipWith(overrides));
  envOf.current = env;
  totalPageViews.current = played.world.totalPageViews;
  const deliveries = deliveryOrder(played, faults);
  const faulty = deliver(played, deliveries, env, (s) => checkStep(s, resets));
  return { reference, faulty, deliveries };
}

describe('the sync core under generated histories (in-process)', () => {
  it('applied in read order, a lead is what the ownership policies say, path by path', () => {
    fc.assert(
      fc.property(historyArbitrary({ resets: true }), ownershipArbitrary, (ops, overrides) => {
        const played = play(ops);
        const state = deliver(played, inOrder(played), shellEnv(played.world, ownershipWith(overrides)));
        checkAgainstReference(state, ops, overrides);
      }),
      modelParameters('in read order', RUNS),
    );
  });

  it('delivered with duplicates, reordering and late retries, ends as in read order (two-way change times apart: KNOWN_LIMITATION_TWO_WAY)', () => {
    fc.assert(
      fc.property(historyArbitrary({ resets: false }), faultsArbitrary, ownershipArbitrary, (ops, faults, overrides) => {
        const { reference, faulty, deliveries } = runHistory(ops, faults, overrides, false);
        const ownership = ownershipWith(overrides);
        expect(comparable(onlyLead(faulty), { twoWay: 'apart', ownership })).toEqual(comparable(onlyLead(reference), { twoWay: 'apart', ownership }));
        expect(checkTwoWay(onlyLead(faulty), deliveries, ownership)).toEqual([]);
        expect([...faulty.errors.entries()]).toEqual([]);
      }),
      modelParameters('faulty delivery', RUNS),
    );
  });

  it('with counter resets too, ends as in read order but for engagement (never counted twice), and a repeat of any delivered fragment changes nothing', () => {
    fc.assert(
      fc.property(historyArbitrary({ resets: true }), faultsArbitrary, ownershipArbitrary, (ops, faults, overrides) => {
        const { reference, faulty, deliveries } = runHistory(ops, faults, overrides, true);
        const ownership = ownershipWith(overrides);
        const apart = { twoWay: 'apart' as const, ownership, engagement: false };
        expect(comparable(onlyLead(faulty), apart)).toEqual(comparable(onlyLead(reference), apart));
        const end = onlyLead(faulty);
        for (const { read } of deliveries) {
          const again = cloneShell(faulty);
          const repeat = applyFragment(again, read.fragment, read.readAt, '2026-07-01T00:00:00.000Z', envOf.current!);
          if (repeat.kind === 'merged') expect({ changed: repeat.decision.changed, save: repeat.decision.save }).toEqual({ changed: false, save: false });
          expect(sameValue(onlyLead(again), end)).toBe(true);
        }
      }),
      modelParameters('faulty delivery with resets', RUNS),
    );
  });
});

/**
 * Shrunk histories the model found, kept as they were reported. Each names the seed and path it
 * was found with (under the generators of the commit that found it).
 */
describe('regressions found by the model', () => {
  function replay(ops: Op[], faults: Fault[], overrides: Parameters<typeof ownershipWith>[0] = {}): { reference: ShellState; faulty: ShellState } {
    const { reference, faulty } = runHistory(ops, faults, overrides, false);
    return { reference, faulty };
  }

  // Seed 760686727, path 130:1:3:2:4:4:3:4:4:4:4:4:5:4:5:5:8:7:7:7:7:7:7:7. Salesforce stamps the
  // three states of the Lead with one second (Open, then Working, then Open again). The re-read
  // of the final Open looked like no news (same stamp, same values) and was not saved, so the view
  // kept its first read's time; the Working read, delivered late, was later than that and won.
  it('keeps the later read time of a same-second re-read, so a late read from inside that second cannot roll a value back', () => {
    const ops: Op[] = [
      { kind: 'sfEdit', dt: 0, field: 'title', value: 'CEO' },
      { kind: 'read', dt: 0, target: 'salesforce' },
      { kind: 'sfEdit', dt: 0, field: 'status', value: 'Working' },
      { kind: 'read', dt: 0, target: 'salesforce' },
      { kind: 'sfEdit', dt: 0, field: 'status', value: 'Open' },
      { kind: 'read', dt: 1, target: 'hubspot' },
    ];
    const { reference, faulty } = replay(ops, [{ delay: 0, copies: 0, copyDelay: 0 }, { delay: 4, copies: 0, copyDelay: 0 }]);
    expect(onlyLead(reference).lead.sales.status).toBe('Open');
    expect(onlyLead(faulty).lead.sales.status).toBe('Open');
  });

  it('saves a same-stamp, same-values Salesforce re-read only while its second may still be running', () => {
    const at = Date.parse('2026-03-02T09:00:00.000Z');
    const fragment = (source: 'hubspot' | 'salesforce') => leadFragmentSchema.parse({
      source, object: source === 'hubspot' ? 'contact' : 'Lead', recordId: source === 'hubspot' ? '501' : '00Q000000000001AAA',
      email: 'ada@example.com', modifiedAt: new Date(at).toISOString(), sales: source === 'salesforce' ? { status: 'Open' } : {},
    });
    const ownership = ownershipWith({});
    for (const source of ['salesforce', 'hubspot'] as const) {
      const first = mergeFragment(null, { leadId: 'L1', fragment: fragment(source), readAt: at + 100, nowIso: '2026-03-02T09:00:01.000Z', ownership });
      if (first.outcome !== 'merged') throw new Error('expected a merge');
      const stored = { lead: first.lead, views: first.views };
      const reread = (readAt: number) => mergeFragment(stored, { leadId: 'L1', fragment: fragment(source), readAt, nowIso: '2026-03-02T09:00:05.000Z', ownership });
      expect(reread(at + 700)).toMatchObject({ outcome: 'merged', changed: false, save: source === 'salesforce' });
      // The very same read again (a duplicated delivery) is never saved.
      expect(reread(at + 100)).toMatchObject({ outcome: 'merged', changed: false, save: false });
      const settled = { lead: first.lead, views: { ...first.views, [source]: { ...first.views[source]!, readAt: at + 5000 } } };
      expect(mergeFragment(settled, { leadId: 'L1', fragment: fragment(source), readAt: at + 9000, nowIso: '2026-03-02T09:00:10.000Z', ownership })).toMatchObject({ outcome: 'merged', save: false });
    }
  });
});

/**
 * KNOWN_LIMITATION_TWO_WAY (found by the model, not fixed: it needs more than a small change).
 * A two-way field goes to the CRM whose value changed last, and "changed" is when the value was
 * first seen as it is. A read that arrives after a newer read of its record is stale and dropped
 * whole, and with it the news that the value was already so back then. Here HubSpot's title has
 * been "Analyst" for an hour when Salesforce's changes to "VP Sales"; then HubSpot's phone changes.
 * In read order the title is Salesforce's (its change is the latest). With the hour-old HubSpot
 * read delivered late, HubSpot's title looks first seen at the phone change, and wins. Making the
 * merge order-independent here needs each view to remember more than one observation per field
 * (a stale read that agrees may lower the time only if no read in between disagreed).
 * `it.fails`: this passes while the limitation stands, and fails once it is fixed.
 */
describe('known limitations found by the model', () => {
  it.fails('KNOWN_LIMITATION_TWO_WAY: a late, older read of an unchanged two-way value is lost, and the other CRM\'s newer change can lose', () => {
    const ops: Op[] = [
      { kind: 'read', dt: 0, target: 'hubspot' },
      { kind: 'sfEdit', dt: 1000, field: 'title', value: 'VP Sales' },
      { kind: 'hsEdit', dt: 2000, field: 'phone', value: '+1 555 0199' },
      { kind: 'read', dt: 1, target: 'hubspot' },
      { kind: 'read', dt: 1, target: 'salesforce' },
    ];
    const { reference, faulty } = runHistory(ops, [{ delay: 4, copies: 0, copyDelay: 0 }], {}, false);
    expect(onlyLead(reference).lead.person.title).toBe('VP Sales');
    expect(onlyLead(faulty).lead.person.title).toBe('VP Sales');
  });
});

// -------------------------------------------------------------------------------------------
// Identity decisions, against the design's words

const SF_IDS = ['00Q000000000001AAA', '00Q000000000002AAA', '003000000000001AAA', '003000000000002AAA'] as const;
const HS_IDS = ['501', '502'] as const;

const linksArb: fc.Arbitrary<LeadLinks> = fc.record({
  hubspot: fc.option(fc.constantFrom(...HS_IDS).map((id) => ({ id })), { nil: undefined }),
  salesforce: fc.option(fc.constantFrom(...SF_IDS).map((id) => ({ object: id.startsWith('003') ? 'Contact' as const : 'Lead' as const, id })), { nil: undefined }),
}).map((l) => JSON.parse(JSON.stringify(l)) as LeadLinks);

const fragmentArb: fc.Arbitrary<LeadFragment> = fc.oneof(
  fc.record({ source: fc.constant('hubspot' as const), object: fc.constant('contact' as const), recordId: fc.constantFrom(...HS_IDS), converted: fc.constant(null) }),
  fc.record({ source: fc.constant('salesforce' as const), object: fc.constant('Lead' as const), recordId: fc.constantFrom(SF_IDS[0], SF_IDS[1]), converted: fc.option(fc.constantFrom(SF_IDS[2], SF_IDS[3]), { nil: null }) }),
  fc.record({ source: fc.constant('salesforce' as const), object: fc.constant('Contact' as const), recordId: fc.constantFrom(SF_IDS[2], SF_IDS[3]), converted: fc.constant(null) }),
).chain((r) => fc.constantFrom('ada@example.com', ' ADA@example.com ', '', 'not-an-email').map((email) => leadFragmentSchema.parse({
  source: r.source, object: r.object, recordId: r.recordId, email, modifiedAt: '2026-03-02T09:00:00.000Z',
  identity: r.object === 'Lead' ? { convertedContactId: r.converted } : {},
})));

const lookupArb: fc.Arbitrary<IdentityLookup> = fc.record({
  byRecord: fc.option(fc.constant('L-record'), { nil: null }),
  byConversion: fc.option(fc.constant('L-conversion'), { nil: null }),
  byEmail: fc.option(linksArb.map((links) => ({ leadId: 'L-email', links })), { nil: null }),
});

/** The design's order: the record's own link, a conversion, the email; two records of one CRM on one lead only by a conversion. */
function expectedIdentity(fragment: LeadFragment, lookup: IdentityLookup): { kind: string; leadId: string; by?: string } | { kind: 'ambiguous'; leadId: string; message: string } {
  if (lookup.byRecord) return { kind: 'linked', leadId: lookup.byRecord };
  if (lookup.byConversion) return { kind: 'matched', leadId: lookup.byConversion, by: 'conversion' };
  if (!normaliseEmail(fragment.email) || !lookup.byEmail) return { kind: 'new', leadId: 'L-new' };
  const other = linkedRecordId(lookup.byEmail.links, fragment.source);
  if (other === undefined || other === fragment.recordId) return { kind: 'matched', leadId: lookup.byEmail.leadId, by: 'email' };
  if (fragment.identity.convertedContactId === other) return { kind: 'matched', leadId: lookup.byEmail.leadId, by: 'conversion' };
  return { kind: 'ambiguous', leadId: lookup.byEmail.leadId, message: expect.stringContaining(other) as unknown as string };
}

describe('identity decisions under generated lookups (in-process)', () => {
  it('follows stored links first, then a conversion, then the email, and never puts two records of one CRM on one lead', () => {
    fc.assert(
      fc.property(fragmentArb, lookupArb, (fragment, lookup) => {
        expect(decideIdentity(fragment, lookup, 'L-new')).toEqual(expectedIdentity(fragment, lookup));
      }),
      modelParameters('identity decisions', RUNS),
    );
  });

  it('asks to verify a conversion only for a Salesforce Contact whose email lead follows another Salesforce Lead', () => {
    fc.assert(
      fc.property(fragmentArb, fc.option(linksArb.map((links) => ({ leadId: 'L-email', links })), { nil: null }), (fragment, byEmail) => {
        const toVerify = conversionToVerify(fragment, byEmail);
        const sf = byEmail?.links.salesforce;
        const expected = fragment.source === 'salesforce' && fragment.object === 'Contact' && sf?.object === 'Lead' && sf.id !== fragment.recordId ? sf.id : null;
        expect(toVerify).toBe(expected);
      }),
      modelParameters('conversion to verify', RUNS),
    );
  });

  it('settles a HubSpot merge so that every Salesforce record stays followed by exactly one lead, the survivor\'s twin unchanged', () => {
    fc.assert(
      fc.property(linksArb, linksArb, (mergedRaw, survivorRaw) => {
        const merged: LeadLinks = { ...mergedRaw, hubspot: { id: '502' } };
        const survivor: LeadLinks = { ...survivorRaw, hubspot: { id: '501' } };
        const { kind } = decideMerge(merged, survivor);
        // Applied as jobs/ingest.ts mergeIntoOtherLead does.
        const leads = new Map<string, LeadLinks>([['merged', merged], ['survivor', survivor]]);
        if (kind === 'adopt-twin') {
          leads.set('survivor', { ...survivor, salesforce: merged.salesforce });
          leads.delete('merged');
        } else if (kind === 'absorb') {
          leads.delete('merged');
        } else {
          const { hubspot: _gone, ...rest } = merged;
          leads.set('merged', rest);
        }
        const followers = new Map<string, number>();
        for (const links of leads.values()) if (links.salesforce) followers.set(links.salesforce.id, (followers.get(links.salesforce.id) ?? 0) + 1);
        for (const twin of [merged.salesforce, survivor.salesforce]) if (twin) expect({ twin: twin.id, followers: followers.get(twin.id) }).toEqual({ twin: twin.id, followers: 1 });
        if (survivor.salesforce) expect(leads.get('survivor')?.salesforce).toEqual(survivor.salesforce);
        expect(kind === 'conflict').toBe(!!merged.salesforce && !!survivor.salesforce && merged.salesforce.id !== survivor.salesforce.id);
        expect([...leads.values()].filter((l) => l.hubspot?.id === '502')).toEqual([]);
      }),
      modelParameters('merge decisions', RUNS),
    );
  });
});
