import { describe, expect, it } from 'vitest';
import {
  batchingFloor,
  byEndpoint,
  callRate,
  changeLatency,
  endpointOf,
  isReadCall,
  percentile,
  splitCalls,
  subtractCalls,
} from '../../../bench/lib/figures.js';
import { leadsFromWorld } from '../../../bench/lib/eval-speed.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { leadSchema } from '../../../src/model/lead.js';

describe('the batching floor', () => {
  it('counts list pages of 100, SOQL pages of 2000, HubSpot batches of 100 and collections of 200', () => {
    const floor = batchingFloor({
      fullRead: { hubspot: 17_030, salesforceLeads: 11_030, salesforceContacts: 4_550 },
      hubspotWritten: 17_030,
      hubspotCreated: 2_970,
      salesforceWritten: 15_580,
      salesforceCreated: 401,
    });
    expect(floor.hubspot).toEqual({ reads: 171, writes: 171 + 30 });
    expect(floor.salesforce).toEqual({ reads: 6 + 3, writes: 78 + 3 });
    expect(floor.total).toBe(171 + 201 + 9 + 81);
  });

  it('with the Bulk API 2.0 path on, counts each HTTP request of a job: a query job, an ingest job per 10,000 records', () => {
    const input = {
      fullRead: { hubspot: 0, salesforceLeads: 110_300, salesforceContacts: 4_550 },
      hubspotWritten: 0,
      hubspotCreated: 0,
      salesforceWritten: 25_000,
      salesforceCreated: 401,
    };
    const soql = batchingFloor(input);
    expect(soql.salesforce).toEqual({ reads: 56 + 3, writes: 125 + 3 });
    const bulk = batchingFloor({ ...input, bulk: { query: true, write: true } });
    // Leads: create, one look at the state, three result sets of up to 50,000 rows (5 calls, where
    // query pages take 56); Contacts: 3 pages beat a job's 3 calls at best, so pages.
    // Writes: three jobs of create, upload, close, a look, failedResults (15 calls for 125
    // collections); creates stay collections (the connector creates by collections).
    expect(bulk.salesforce).toEqual({ reads: 5 + 3, writes: 15 + 3 });
    // A job is never counted as one call: below a few thousand records collections stay cheaper.
    expect(batchingFloor({ ...input, fullRead: { hubspot: 0, salesforceLeads: 1_999, salesforceContacts: 0 }, salesforceWritten: 800, bulk: { query: true, write: true } }).salesforce).toEqual({ reads: 1, writes: 4 + 3 });
  });

  it('counts the side streams: Accounts and Tasks per poll and in a full read, HubSpot companies listed and searched', () => {
    const floor = batchingFloor({
      fullRead: { hubspot: 1000, salesforceLeads: 600, salesforceContacts: 300, salesforceSide: [130, 4100], hubspotCompanies: 250 },
      sideStreams: { salesforce: 2, hubspot: 1 },
      salesforcePolls: 1,
      hubspotPolls: 1,
      hubspotWritten: 0,
      hubspotCreated: 0,
      salesforceWritten: 0,
      salesforceCreated: 0,
    });
    // HubSpot: 10 contact pages, 3 company pages + the archived listing, and a poll's two searches.
    expect(floor.hubspot.reads).toBe(10 + 3 + 1 + 2);
    // Salesforce: Lead and Contact pages, Accounts 1 + Tasks 3 in full, then the poll's Lead, Contact, Account, Task queries.
    expect(floor.salesforce.reads).toBe(1 + 1 + 1 + 3 + 2 + 2);
  });

  it('needs one query per Salesforce object per poll, and one batch read per 100 webhook changes', () => {
    const floor = batchingFloor({ hubspotReadById: 200, salesforcePolls: 5, salesforceChanged: 180, hubspotWritten: 380, hubspotCreated: 0, salesforceWritten: 380, salesforceCreated: 0 });
    expect(floor.hubspot).toEqual({ reads: 2, writes: 4 });
    expect(floor.salesforce).toEqual({ reads: 10, writes: 2 });
  });

  it('counts the opportunity streams a Salesforce poll and a full read also query', () => {
    const poll = batchingFloor({ salesforcePolls: 5, opportunityStreams: 2, hubspotWritten: 0, hubspotCreated: 0, salesforceWritten: 0, salesforceCreated: 0 });
    expect(poll.salesforce.reads).toBe(10 + 10);
    const full = batchingFloor({ fullRead: { hubspot: 0, salesforceLeads: 2500, salesforceContacts: 100 }, opportunityStreams: 2, hubspotWritten: 0, hubspotCreated: 0, salesforceWritten: 0, salesforceCreated: 0 });
    expect(full.salesforce.reads).toBe(2 + 1 + 2);
  });

  it('is zero for no work', () => {
    expect(batchingFloor({ hubspotWritten: 0, hubspotCreated: 0, salesforceWritten: 0, salesforceCreated: 0 }).total).toBe(0);
  });
});

describe('call classification', () => {
  it('tells reads from writes the way the sandboxes key them', () => {
    expect(isReadCall('GET /services/data/v62.0/query')).toBe(true);
    expect(isReadCall('POST /crm/v3/objects/contacts/search')).toBe(true);
    expect(isReadCall('POST /crm/v3/objects/contacts/batch/read')).toBe(true);
    expect(isReadCall('POST /crm/v3/objects/contacts/batch/update')).toBe(false);
    expect(isReadCall('PATCH /services/data/v62.0/composite/sobjects')).toBe(false);
    expect(splitCalls({ total: 6, calls: { 'GET /a': 2, 'POST /b/batch/update': 4 } })).toEqual({ reads: 2, writes: 4, total: 6 });
  });

  it('takes the bench user\'s own calls out, never below zero', () => {
    const out = subtractCalls({ total: 10, calls: { 'POST /x': 3, 'GET /y': 7 } }, { 'POST /x': 5 });
    expect(out).toEqual({ total: 7, calls: { 'GET /y': 7 } });
  });

  it('groups endpoints whatever the record id or API version', () => {
    expect(endpointOf('PATCH /services/data/v62.0/sobjects/Lead/00Q000000000001AAA')).toBe('PATCH /services/data/vXX.X/sobjects/Lead/:id');
    expect(endpointOf('GET /crm/v3/objects/contacts/1234')).toBe('GET /crm/v3/objects/contacts/:id');
    // Bulk API 2.0's result resources are words, not ids (an id has digits).
    expect(endpointOf('GET /services/data/v62.0/jobs/ingest/750000000000001AAA/successfulResults')).toBe('GET /services/data/vXX.X/jobs/ingest/:id/successfulResults');
    expect(endpointOf('GET /services/data/v62.0/jobs/ingest/750000000000001AAA/unprocessedrecords')).toBe('GET /services/data/vXX.X/jobs/ingest/:id/unprocessedrecords');
    expect(byEndpoint({ total: 3, calls: { 'GET /crm/v3/objects/contacts/1': 1, 'GET /crm/v3/objects/contacts/2': 2 } })).toEqual({ 'GET /crm/v3/objects/contacts/:id': 3 });
  });
});

describe('percentiles, rates and latencies', () => {
  it('uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });

  it('averages calls per 10 s over the busy span and finds the busiest window', () => {
    const times = Array.from({ length: 380 }, (_, i) => i * 100); // 10 calls a second for 38 s
    const rate = callRate(times);
    expect(rate.avgPer10s).toBeCloseTo(100, 0);
    expect(rate.peakPer10s).toBe(100);
    expect(callRate([5, 6, 7]).avgPer10s).toBe(3);
  });

  it('times a change to the first connector write after it, in the changed record and the other', () => {
    const source = [{ t: 1000, who: 'user' as const }, { t: 3000, who: 'connector' as const }];
    const other = [{ t: 500, who: 'connector' as const }, { t: 3500, who: 'connector' as const }];
    expect(changeLatency(source, other)).toEqual({ changedAt: 1000, toOther: 2500, toBoth: 2500 });
    expect(changeLatency(source, [])).toEqual({ changedAt: 1000, toOther: null, toBoth: null });
    expect(changeLatency([], other).changedAt).toBeNull();
  });

  it('counts a change as in both CRMs once the other is written when its own record needs no write back', () => {
    // A title change that moves no score: field sync writes the title to the other CRM and nothing
    // returns to the changed record.
    const source = [{ t: 1000, who: 'user' as const }];
    const other = [{ t: 1800, who: 'connector' as const }];
    expect(changeLatency(source, other)).toEqual({ changedAt: 1000, toOther: 800, toBoth: 800 });
  });
});

describe('the rule-speed leads', () => {
  it('are valid common Leads with engagement from the seed\'s counters', () => {
    const world = generateWorld({ people: 200, seed: 3 });
    const leads = leadsFromWorld(world, 200);
    expect(leads).toHaveLength(200);
    for (const lead of leads) expect(leadSchema.safeParse(lead).success).toBe(true);
    expect(leads.filter((l) => l.marketing.engagement.length > 0).length).toBeGreaterThan(100);
  });
});
