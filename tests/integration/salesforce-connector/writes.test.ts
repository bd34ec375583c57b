/**
 * Writes against the Salesforce sandbox: collections with per-record failures, checks before the
 * write, creates placed by Account domain and idempotent by lead id, tasks made once, and SOQL
 * values that cannot change their query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SalesforceClient } from '../../../connectors/salesforce/client.js';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import { byFieldValuesQuery, soqlString } from '../../../connectors/salesforce/soql.js';
import type { CreateRequest, RecordUpdate } from '../../../connectors/types.js';
import { callsMatching, startHarness } from './harness.js';
import type { Harness } from './harness.js';

describe('Salesforce writes', () => {
  let h: Harness;
  let sf: SalesforceConnector;

  beforeAll(async () => {
    h = await startHarness('sf-writes', 400, 23);
    sf = h.connector();
    const report = await sf.ensureSchema();
    expect(report.problems).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    await h.close();
  });

  const liveLeads = () => h.sandbox.store.list('Lead').filter((r) => r.IsConverted !== true && r.IsDeleted !== true);

  it('writes a collection with allOrNone:false: good records land, each bad one fails alone with the CRM\'s own words', async () => {
    const [a, b, c, deleted] = liveLeads().map((r) => String(r.Id));
    if (!a || !b || !c || !deleted) throw new Error('seed too small');
    await h.control('/activity', { kind: 'delete', id: deleted });
    const updates: RecordUpdate[] = [
      { ref: { object: 'Lead', id: a }, smk: { score: '91', grade: 'hot', stage: 'mql' }, status: 'working' },
      { ref: { object: 'Lead', id: b }, smk: { grade: 'tepid' } },
      { ref: { object: 'Lead', id: deleted }, smk: { score: '5' } },
      { ref: { object: 'Lead', id: '00Q000000000ZZZAAA' }, smk: { score: '6' } },
      { ref: { object: 'Lead', id: c }, smk: { score: '12' }, ownerId: '005000000000ZZZAAA' },
      { ref: { object: 'Lead', id: b }, smk: { scoreReasons: 'r'.repeat(300) } },
    ];
    await h.resetStats();
    const outcomes = await sf.write(updates);
    const { calls } = await h.stats();
    // One collection call: the two refused before the write were never sent.
    expect(callsMatching(calls, 'PATCH /services/data/v62.0/composite/sobjects')).toBe(1);

    expect(outcomes[0]).toEqual({ ref: updates[0]?.ref, ok: true });
    expect(h.sandbox.store.get(a)).toMatchObject({ Smk_Score__c: 91, Smk_Grade__c: 'hot', Smk_Stage__c: 'mql', Status: 'Working - Contacted' });

    expect(outcomes[1]).toMatchObject({ ok: false, error: { code: 'VALIDATION', vendorCode: 'PRE_WRITE_CHECK', recordId: b, field: 'Smk_Grade__c' } });
    expect(outcomes[5]).toMatchObject({ ok: false, error: { code: 'VALIDATION', field: 'Smk_Score_Reasons__c' } });
    for (const i of [2, 3, 4]) {
      const outcome = outcomes[i];
      expect(outcome?.ok).toBe(false);
      if (outcome && !outcome.ok) {
        expect(outcome.error.crm).toBe('salesforce');
        expect(outcome.error.recordId).toBe(updates[i]?.ref.id);
        expect(outcome.error.vendorCode).not.toBe('PRE_WRITE_CHECK');
        expect(outcome.error.message.length).toBeGreaterThan(0);
      }
    }
    console.log('[salesforce] per-record failures:', outcomes.map((o) => (o.ok ? 'ok' : `${o.error.code}/${o.error.vendorCode}`)).join(', '));
    expect(h.sandbox.store.get(c)?.Smk_Score__c).not.toBe(12);
  });

  it('splits more than 200 updates into collections of 200', async () => {
    const leads = liveLeads().slice(0, 230);
    await h.resetStats();
    const outcomes = await sf.write(leads.map((r, i) => ({ ref: { object: 'Lead' as const, id: String(r.Id) }, smk: { fitScore: String(i) } })));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(callsMatching((await h.stats()).calls, 'composite/sobjects')).toBe(2);
  });

  it('writes Leads and Contacts together: one collection of up to 200 records whatever their types', async () => {
    const contacts = h.sandbox.store.list('Contact').filter((r) => r.IsDeleted !== true).slice(0, 60);
    expect(contacts.length).toBe(60);
    const leads = liveLeads().slice(0, 200 - contacts.length);
    const updates: RecordUpdate[] = [];
    // Interleaved, as the pending batch holds them.
    for (let i = 0; i < leads.length; i += 1) {
      updates.push({ ref: { object: 'Lead', id: String(leads[i]?.Id) }, smk: { fitScore: String(100 + i) } });
      const contact = contacts[i];
      if (contact) updates.push({ ref: { object: 'Contact', id: String(contact.Id) }, smk: { fitScore: String(300 + i) } });
    }
    await h.resetStats();
    const outcomes = await sf.write(updates);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(callsMatching((await h.stats()).calls, 'composite/sobjects')).toBe(1);
    // Each result reached its own record.
    expect(h.sandbox.store.get(String(leads[7]?.Id))?.Smk_Fit_Score__c).toBe(107);
    expect(h.sandbox.store.get(String(contacts[7]?.Id))?.Smk_Fit_Score__c).toBe(307);
  });

  describe('create', () => {
    const person = (leadId: string, email: string, domain: string | null, as: CreateRequest['as']): CreateRequest => ({
      leadId,
      email,
      person: { firstName: 'Mateo', lastName: 'Rossi', title: 'Head of Growth', phone: null, country: 'ES', state: null, city: 'Madrid' },
      company: { name: 'Somewhere SA', domain, industry: null, employees: 80, annualRevenue: null },
      marketing: { source: 'ORGANIC_SEARCH', campaign: null },
      smk: { score: '55', grade: 'warm', stage: 'mql' },
      as,
    });

    it('places a person under the Account of their company domain, else makes a Lead; a second try finds the first', async () => {
      const account = h.sandbox.store.list('Account')[0];
      const website = String(account?.Website);
      const domain = website.replace(/^www\./, '');
      const requests = [
        person('lead-auto-contact', `mateo.rossi@${domain}`, `https://${website}/`, 'auto'),
        person('lead-auto-lead', 'mateo.rossi@nowhere-without-account.example', 'nowhere-without-account.example', 'auto'),
        person('lead-plain', 'plain@nowhere-without-account.example', null, undefined),
      ];
      const first = await sf.create(requests);
      expect(first).toMatchObject([
        { leadId: 'lead-auto-contact', ok: true, created: true, ref: { object: 'Contact' } },
        { leadId: 'lead-auto-lead', ok: true, created: true, ref: { object: 'Lead' } },
        { leadId: 'lead-plain', ok: true, created: true, ref: { object: 'Lead' } },
      ]);
      const contactRef = first[0]?.ok ? first[0].ref : null;
      expect(h.sandbox.store.get(contactRef?.id ?? '')).toMatchObject({ AccountId: account?.Id, OwnerId: account?.OwnerId, Smk_Lead_Id__c: 'lead-auto-contact' });
      const leadRef = first[1]?.ok ? first[1].ref : null;
      expect(h.sandbox.store.get(leadRef?.id ?? '')).toMatchObject({ Company: 'Somewhere SA', LastName: 'Rossi', Smk_Grade__c: 'warm', LeadSource: 'Web' });

      await h.resetStats();
      const second = await sf.create(requests);
      expect(second.map((o) => (o.ok ? { created: o.created, id: o.ref.id } : o.error.message))).toEqual(
        first.map((o) => (o.ok ? { created: false, id: o.ref.id } : o.error.message)),
      );
      expect(callsMatching((await h.stats()).calls, 'POST /services/data/v62.0/composite/sobjects')).toBe(0);
    });

    it('refuses a person the org would refuse, naming the field, without failing the others', async () => {
      const tooLong = { ...person('lead-long-title', 'long.title@example.org', null, 'Lead'), person: { firstName: 'Long', lastName: 'Title', title: 'T'.repeat(129) } };
      const outcomes = await sf.create([tooLong, person('lead-fine', 'fine@example.org', null, 'Lead')]);
      expect(outcomes[0]).toMatchObject({ ok: false, error: { code: 'VALIDATION', field: 'Title' } });
      expect(outcomes[1]).toMatchObject({ ok: true, created: true });
    });
  });

  it('creates a task once, even when asked twice', async () => {
    const lead = liveLeads()[10];
    const owner = h.world.owners[0]?.salesforceId ?? '';
    const task = {
      ownerId: owner,
      whoId: String(lead?.Id),
      subject: 'Follow up: O\'Brien \\ "hot" lead',
      description: 'Score 91 (Senior title; Demo request). SLA due in 4 business hours.',
      dueDate: '2025-03-17',
      key: 'handoff:lead_01HQ:2025-03-14',
    };
    const before = h.sandbox.store.count('Task');
    const first = await sf.createTasks([task]);
    const second = await sf.createTasks([task, { ...task }]);
    expect(first).toMatchObject([{ key: task.key, ok: true, created: true }]);
    const id = first[0]?.ok ? first[0].id : '';
    expect(second).toEqual([
      { key: task.key, ok: true, id, created: false },
      { key: task.key, ok: true, id, created: false },
    ]);
    expect(h.sandbox.store.count('Task')).toBe(before + 1);
    expect(h.sandbox.store.get(id)).toMatchObject({ Subject: task.subject, WhoId: task.whoId, OwnerId: owner, Status: 'Not Started', TaskSubtype: 'Task', ActivityDate: expect.anything() });
  });

  it('makes no look-up query for a first try of a task or a create, and still finds an earlier one on a retry', async () => {
    const lead = liveLeads()[11];
    const owner = h.world.owners[0]?.salesforceId ?? '';
    const task = { ownerId: owner, whoId: String(lead?.Id), subject: 'Follow up on MQL: first try', description: 'Score 70.', key: 'handoff:first-try', firstTry: true };
    await h.resetStats();
    const first = await sf.createTasks([task]);
    const created = await sf.create([{ leadId: 'lead-first-try', email: 'first.try@example.org', person: { lastName: 'Try' }, company: { name: 'First Try Ltd' }, smk: { score: '10' }, as: 'Lead', firstTry: true }]);
    const { calls } = await h.stats();
    expect(Object.keys(calls).filter((k) => k.includes('/query'))).toEqual([]);
    expect(first).toMatchObject([{ ok: true, created: true }]);
    expect(created).toMatchObject([{ ok: true, created: true }]);
    // The retry (the outcome of the first call was lost) looks and finds them.
    expect(await sf.createTasks([{ ...task, firstTry: false }])).toMatchObject([{ ok: true, created: false }]);
    expect(await sf.create([{ leadId: 'lead-first-try', email: 'first.try@example.org', person: { lastName: 'Try' }, company: { name: 'First Try Ltd' }, smk: { score: '10' }, as: 'Lead' }])).toMatchObject([{ ok: true, created: false }]);
  });

  it('asks for the Account of a domain once in a few minutes, found or not', async () => {
    const website = String(h.sandbox.store.list('Account')[1]?.Website);
    const domains = [website, 'no-account-here.example'];
    await h.resetStats();
    const first = await sf.accountsByDomain(domains);
    const second = await sf.accountsByDomain([...domains].reverse());
    expect([...second]).toEqual([...first]);
    expect(first.size).toBe(1);
    expect(callsMatching((await h.stats()).calls, '/query')).toBe(1);
  });

  it('keeps quotes and backslashes in SOQL values: an injection matches nothing, a real value matches itself', async () => {
    const client = new SalesforceClient({ instanceUrl: h.sandbox.instanceUrl, loginUrl: h.sandbox.loginUrl, accessToken: h.sandbox.accessToken, gate: h.gate });
    const injected = await client.queryPage('injection', byFieldValuesQuery('Lead', ['Id'], 'Email', ["x' OR Email != '"]));
    expect(injected.records).toEqual([]);

    const lastName = 'O\'Brien \\ "Jr" \n 100%_sure';
    await h.control('/activity', { kind: 'create', type: 'Lead', fields: { LastName: lastName, Company: 'Quotes & Co' } });
    const exact = await client.queryPage('exact', `SELECT Id, LastName FROM Lead WHERE LastName = ${soqlString(lastName)}`);
    expect(exact.records).toMatchObject([{ LastName: lastName }]);

    // A lead id that would match every lead if it were not escaped is only ever its own value.
    const evil = "x' OR Smk_Lead_Id__c != '";
    const created = await sf.create([{ leadId: evil, email: 'evil@example.org', person: { lastName: 'Evil' }, company: { name: 'Evil Inc' }, smk: {} }]);
    expect(created).toMatchObject([{ ok: true, created: true }]);
    const again = await sf.create([{ leadId: evil, email: 'evil@example.org', person: { lastName: 'Evil' }, company: { name: 'Evil Inc' }, smk: {} }]);
    expect(again).toMatchObject([{ ok: true, created: false, ref: created[0]?.ok ? created[0].ref : {} }]);
  });

  it('lists the org\'s users as owners', async () => {
    const owners = await sf.owners();
    expect(owners.map((o) => o.id)).toEqual(expect.arrayContaining(h.world.owners.map((o) => o.salesforceId)));
    expect(owners.every((o) => typeof o.active === 'boolean')).toBe(true);
  });
});
