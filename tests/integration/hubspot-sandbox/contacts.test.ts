import type { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../../connectors/hubspot/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { control, fixture, officialClient, raw, shapeDiff } from './helpers.js';

const world = generateWorld({ people: 260, seed: 11 });
const seeded = world.people.filter((p) => p.hubspot !== null);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let sandbox: HubSpotSandbox;
let client: Client;

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ world, seed: 11 });
  client = officialClient(sandbox);
});
afterAll(async () => {
  await sandbox.close();
});

interface ApiErrorLike {
  code: number;
  body: { category?: string; message?: string; errors?: Array<{ code?: string; context?: Record<string, string[]> }>; context?: Record<string, string[]> };
}

async function apiError(promise: Promise<unknown>): Promise<ApiErrorLike> {
  try {
    await promise;
  } catch (err) {
    return err as ApiErrorLike;
  }
  throw new Error('expected the call to fail');
}

function seededEmail(i: number): string {
  const hubspot = seeded[i]?.hubspot;
  if (!hubspot) throw new Error('no seeded person');
  return hubspot.email;
}

describe('HubSpot sandbox: contacts through @hubspot/api-client', () => {
  it('pages through every seeded contact with getPage, and getAll returns the same set', async () => {
    const ids: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await client.crm.contacts.basicApi.getPage(100, after, ['email', 'hs_analytics_num_page_views', 'hs_email_optout']);
      pages += 1;
      expect(page.results.length).toBeLessThanOrEqual(100);
      for (const c of page.results) {
        ids.push(c.id);
        expect(typeof c.properties.hs_analytics_num_page_views).toBe('string');
        expect(['true', 'false']).toContain(c.properties.hs_email_optout);
        expect(c.createdAt).toBeInstanceOf(Date);
      }
      after = page.paging?.next?.after;
    } while (after);
    expect(pages).toBe(Math.ceil(seeded.length / 100));
    expect(ids).toHaveLength(seeded.length);
    expect(new Set(ids).size).toBe(seeded.length);
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));

    const all = await client.crm.contacts.getAll(100);
    expect(all.map((c) => c.id)).toEqual(ids);
    const emails = new Set(all.map((c) => c.properties.email?.toLowerCase()));
    for (const p of seeded) expect(emails.has(p.hubspot?.email.toLowerCase())).toBe(true);
  });

  it('returns the default properties when none are asked for, with HubSpot date formats', async () => {
    const page = await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=1');
    const body = page.body as { results: Array<{ properties: Record<string, string | null>; createdAt: string }> };
    const first = body.results[0];
    expect(Object.keys(first?.properties ?? {}).sort()).toEqual(['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);
    expect(first?.properties.createdate).toMatch(ISO);
    expect(first?.properties.lastmodifieddate).toMatch(ISO);
    expect(first?.properties.createdate).toBe(first?.createdAt);
  });

  it('accepts properties comma-separated and repeated', async () => {
    const commas = await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=2&properties=email,jobtitle');
    const repeated = await raw(sandbox, 'GET', '/crm/v3/objects/contacts?limit=2&properties=email&properties=jobtitle');
    expect(commas.status).toBe(200);
    const results = (r: { body: unknown }) => (r.body as { results: unknown[] }).results;
    expect(results(repeated)).toEqual(results(commas));
    const [first] = (commas.body as { results: Array<{ properties: Record<string, unknown> }> }).results;
    expect(Object.keys(first?.properties ?? {}).sort()).toEqual(['email', 'jobtitle']);
  });

  it('refuses a page limit above 100 with a VALIDATION_ERROR', async () => {
    const err = await apiError(client.crm.contacts.basicApi.getPage(101));
    expect(err.code).toBe(400);
    expect(err.body.category).toBe('VALIDATION_ERROR');
  });

  it('reads a contact by email with idProperty, case-insensitively', async () => {
    const email = seededEmail(3);
    const c = await client.crm.contacts.basicApi.getById(email.toUpperCase(), ['email', 'lifecyclestage'], undefined, undefined, false, 'email');
    expect(c.properties.email).toBe(email);
    expect(c.properties.lifecyclestage).toBe(seeded[3]?.hubspot?.lifecyclestage);
    const err = await apiError(client.crm.contacts.basicApi.getById('nobody@nowhere.example', undefined, undefined, undefined, false, 'email'));
    expect(err.code).toBe(404);
    expect(err.body.category).toBe('OBJECT_NOT_FOUND');
  });

  it('creates a contact, then answers 409 for the same email in another case', async () => {
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'New.Person@Example.com', firstname: 'New', annualrevenue: '17.0' }, associations: [] });
    expect(created.properties.email).toBe('New.Person@Example.com');
    expect(created.properties.annualrevenue).toBe('17');
    expect(created.properties.hs_object_id).toBe(created.id);
    const err = await apiError(client.crm.contacts.basicApi.create({ properties: { email: 'new.person@example.com' }, associations: [] }));
    expect(err.code).toBe(409);
    expect(err.body.category).toBe('CONFLICT');
    expect(err.body.message).toBe(`Contact already exists. Existing ID: ${created.id}`);
  });

  it('clears a value with an empty string and moves lastmodifieddate to the sandbox clock', async () => {
    const id = String(101 + 5);
    const before = await client.crm.contacts.basicApi.getById(id, ['jobtitle', 'lastmodifieddate']);
    sandbox.clock.advance(60_000);
    const updated = await client.crm.contacts.basicApi.update(id, { properties: { jobtitle: '' } });
    expect(updated.properties.jobtitle).toBeNull();
    const after = await client.crm.contacts.basicApi.getById(id, ['jobtitle', 'lastmodifieddate']);
    expect(after.properties.jobtitle).toBeNull();
    expect(Date.parse(after.properties.lastmodifieddate ?? '')).toBeGreaterThan(Date.parse(before.properties.lastmodifieddate ?? ''));
    expect(Math.abs(Date.parse(after.properties.lastmodifieddate ?? '') - sandbox.clock.now())).toBeLessThan(5000);
  });

  it('refuses unknown properties with PROPERTY_DOESNT_EXIST in the recorded 400 shape, and writes nothing', async () => {
    const id = String(101 + 6);
    const res = await raw(sandbox, 'PATCH', `/crm/v3/objects/contacts/${id}`, { properties: { mobilePhone: '+1 555 0100', jobtitle: 'CTO' } });
    expect(res.status).toBe(400);
    expect(shapeDiff(res.body, fixture('error-property-doesnt-exist-400.json'))).toEqual([]);
    const body = res.body as { message: string; category: string; errors: Array<{ code: string }> };
    expect(body.category).toBe('VALIDATION_ERROR');
    expect(body.message).toContain('PROPERTY_DOESNT_EXIST');
    expect(body.message).toContain('mobilePhone');
    expect(body.errors[0]?.code).toBe('PROPERTY_DOESNT_EXIST');
    const c = sandbox.store.getRecord(id);
    expect(c?.props.jobtitle).not.toBe('CTO');
  });

  it('refuses read-only properties', async () => {
    for (const name of ['createdate', 'hs_object_id', 'hs_analytics_num_page_views', 'lastmodifieddate']) {
      const err = await apiError(client.crm.contacts.basicApi.update('107', { properties: { [name]: '5' } }));
      expect(err.code).toBe(400);
      expect(err.body.message).toContain('READ_ONLY_VALUE');
      expect(err.body.message).toContain(name);
    }
  });

  it('checks values against the property type: options, numbers, owners', async () => {
    const badOption = await apiError(client.crm.contacts.basicApi.update('108', { properties: { hs_lead_status: 'MAYBE' } }));
    expect(badOption.code).toBe(400);
    expect(badOption.body.category).toBe('VALIDATION_ERROR');
    expect(badOption.body.message).toContain('hs_lead_status');
    expect(badOption.body.message).toContain('ATTEMPTED_TO_CONTACT');
    // Enumeration values are case-sensitive.
    const lowerCase = await apiError(client.crm.contacts.basicApi.update('108', { properties: { hs_lead_status: 'new' } }));
    expect(lowerCase.code).toBe(400);
    const badNumber = await apiError(client.crm.contacts.basicApi.update('108', { properties: { annualrevenue: 'lots' } }));
    expect(badNumber.code).toBe(400);
    const badOwner = await apiError(client.crm.contacts.basicApi.update('108', { properties: { hubspot_owner_id: '123' } }));
    expect(badOwner.code).toBe(400);
    const owner = world.owners[2]?.hubspotId ?? '';
    const ok = await client.crm.contacts.basicApi.update('108', { properties: { hs_lead_status: 'CONNECTED', hubspot_owner_id: owner } });
    expect(ok.properties.hs_lead_status).toBe('CONNECTED');
    expect(ok.properties.hubspot_owner_id).toBe(owner);
  });

  it('moves lifecyclestage only forward, unless it is cleared first', async () => {
    const id = '109';
    await client.crm.contacts.basicApi.update(id, { properties: { lifecyclestage: 'salesqualifiedlead' } });
    const backward = await apiError(client.crm.contacts.basicApi.update(id, { properties: { lifecyclestage: 'lead' } }));
    expect(backward.code).toBe(400);
    expect(backward.body.category).toBe('VALIDATION_ERROR');
    expect(backward.body.message).toContain('lifecyclestage');
    expect(sandbox.store.getRecord(id)?.props.lifecyclestage).toBe('salesqualifiedlead');
    await client.crm.contacts.basicApi.update(id, { properties: { lifecyclestage: '' } });
    const lowered = await client.crm.contacts.basicApi.update(id, { properties: { lifecyclestage: 'lead' } });
    expect(lowered.properties.lifecyclestage).toBe('lead');
  });

  it('archives: 204, then 404 unless archived=true, and the email is free again', async () => {
    const email = seededEmail(20);
    const id = (await client.crm.contacts.basicApi.getById(email, undefined, undefined, undefined, false, 'email')).id;
    await client.crm.contacts.basicApi.archive(id);
    const err = await apiError(client.crm.contacts.basicApi.getById(id));
    expect(err.code).toBe(404);
    const archived = await client.crm.contacts.basicApi.getById(id, ['email'], undefined, undefined, true);
    expect(archived.archived).toBe(true);
    expect(archived.archivedAt).toBeInstanceOf(Date);
    const page = await client.crm.contacts.basicApi.getPage(100, undefined, ['email'], undefined, undefined, true);
    expect(page.results.map((c) => c.id)).toContain(id);
    const again = await client.crm.contacts.basicApi.create({ properties: { email }, associations: [] });
    expect(again.id).not.toBe(id);
  });

  it('represents merges: the survivor keeps its id, the merged id reads as the survivor', async () => {
    const primaryId = '130';
    const mergedId = '131';
    const mergedEmail = String(sandbox.store.getRecord(mergedId)?.props.email);
    const res = await control(sandbox, 'POST', '/merge', { primaryId, mergedId });
    expect(res.status).toBe(200);
    const viaMergedId = await client.crm.contacts.basicApi.getById(mergedId, ['hs_merged_object_ids', 'hs_additional_emails']);
    expect(viaMergedId.id).toBe(primaryId);
    expect(viaMergedId.properties.hs_merged_object_ids).toBe(mergedId);
    expect(viaMergedId.properties.hs_additional_emails).toBe(mergedEmail);
    const all = await client.crm.contacts.getAll(100);
    expect(all.map((c) => c.id)).not.toContain(mergedId);
    const dup = await apiError(client.crm.contacts.basicApi.create({ properties: { email: mergedEmail }, associations: [] }));
    expect(dup.code).toBe(409);

    // A second merge through the API accumulates the merged ids.
    const merged = await client.crm.contacts.basicApi.merge({ primaryObjectId: primaryId, objectIdToMerge: '132' });
    expect(merged.id).toBe(primaryId);
    const survivor = await client.crm.contacts.basicApi.getById(primaryId, ['hs_merged_object_ids']);
    expect(survivor.properties.hs_merged_object_ids).toBe(`${mergedId};132`);
  });

  it('seeds engagement counters and timestamps from the world', async () => {
    const person = seeded.find((p) => (p.hubspot?.analytics.pageViews ?? 0) > 3 && p.hubspot?.analytics.lastVisitAt !== null);
    const email = person?.hubspot?.email ?? '';
    const c = await client.crm.contacts.basicApi.getById(
      email,
      ['hs_analytics_num_page_views', 'hs_analytics_num_visits', 'num_conversion_events', 'hs_email_open', 'hs_email_click', 'hs_analytics_last_visit_timestamp'],
      undefined,
      undefined,
      false,
      'email',
    );
    const a = person?.hubspot?.analytics;
    expect(c.properties.hs_analytics_num_page_views).toBe(String(a?.pageViews));
    expect(c.properties.hs_analytics_num_visits).toBe(String(a?.visits));
    expect(c.properties.num_conversion_events).toBe(String(a?.formSubmissions));
    expect(c.properties.hs_email_open).toBe(String(a?.emailOpens));
    expect(c.properties.hs_email_click).toBe(String(a?.emailClicks));
    expect(c.properties.hs_analytics_last_visit_timestamp).toBe(new Date(a?.lastVisitAt ?? 0).toISOString());
  });

  it('records visitor activity from the control surface without counting it as an API call', async () => {
    const before = sandbox.monitor.stats().total;
    const res = await control(sandbox, 'POST', '/activity', { contactId: '140', kind: 'form_submission', name: 'Demo request' });
    expect(res.status).toBe(200);
    const props = (res.body as { properties: Record<string, string> }).properties;
    expect(props.recent_conversion_event_name).toBe('Demo request');
    expect(Date.parse(props.recent_conversion_date ?? '')).toBeGreaterThan(sandbox.clock.now() - 5000);
    expect(sandbox.monitor.stats().total).toBe(before);
    const bad = await control(sandbox, 'POST', '/activity', { contactId: '140', kind: 'telepathy' });
    expect(bad.status).toBe(400);
  });
});
