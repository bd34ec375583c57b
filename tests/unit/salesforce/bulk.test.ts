/**
 * The Bulk API 2.0 update path. The local sandbox has no Bulk API 2.0, so the ingest job's wire
 * exchange (open, upload CSV, close, poll, results) is served by nock with Salesforce's shapes.
 */
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetUnsettledBulkJobs, updateByBulk } from '../../../connectors/salesforce/batch.js';
import { SalesforceClient } from '../../../connectors/salesforce/client.js';
import type { QuotaGate } from '../../../connectors/types.js';

const INSTANCE = 'https://acme.my.salesforce.com';
const JOB = '7505g00000Bf1xYAAR';
const BASE = '/services/data/v62.0/jobs/ingest';

describe('updates through Bulk API 2.0', () => {
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('uploads one CSV, waits for the job, and matches results to records by Id', async () => {
    let taken = 0;
    const gate: QuotaGate = {
      take: async () => {
        taken += 1;
      },
      observe: async () => {},
      report: async () => ({ crm: 'salesforce', dailyUsed: 0, dailyLimit: null, dailyBudget: null, paused: false }),
    };
    const job = { id: JOB, object: 'Lead', operation: 'update', state: 'Open', contentType: 'CSV', apiVersion: 62, lineEnding: 'LF', columnDelimiter: 'COMMA' };
    let uploaded = '';
    const json = { 'Content-Type': 'application/json;charset=UTF-8' };
    const csv = { 'Content-Type': 'text/csv' };
    nock(INSTANCE)
      .post(BASE, (body: { object: string; operation: string }) => body.object === 'Lead' && body.operation === 'update')
      .reply(200, job, json)
      .put(`${BASE}/${JOB}/batches`, (body: string) => {
        uploaded = body;
        return true;
      })
      .reply(201, '', json)
      .patch(`${BASE}/${JOB}`, { state: 'UploadComplete' })
      .reply(200, { ...job, state: 'UploadComplete' }, json)
      .get(`${BASE}/${JOB}`)
      .reply(200, { ...job, state: 'JobComplete', numberRecordsProcessed: 3, numberRecordsFailed: 1 }, json)
      .get(`${BASE}/${JOB}/successfulResults`)
      .reply(200, 'sf__Id,sf__Created,Id,Smk_Score__c,Smk_Grade__c\n00Q5g00000KjX3aEAF,false,00Q5g00000KjX3aEAF,87,hot\n00Q5g00000KjX3cEAF,false,00Q5g00000KjX3cEAF,12,#N/A\n', csv)
      .get(`${BASE}/${JOB}/failedResults`)
      .reply(200, 'sf__Id,sf__Error,Id,Smk_Score__c,Smk_Grade__c\n"","ENTITY_IS_DELETED:entity is deleted:--",00Q5g00000KjX3bEAF,40,warm\n', csv)
      .get(`${BASE}/${JOB}/unprocessedrecords`)
      .reply(200, 'Id,Smk_Score__c,Smk_Grade__c\n', csv);

    const client = new SalesforceClient({ instanceUrl: INSTANCE, loginUrl: 'https://login.salesforce.com', accessToken: 't', gate });
    const records = [
      { Id: '00Q5g00000KjX3aEAF', Smk_Score__c: 87, Smk_Grade__c: 'hot' },
      { Id: '00Q5g00000KjX3bEAF', Smk_Score__c: 40, Smk_Grade__c: 'warm' },
      { Id: '00Q5g00000KjX3cEAF', Smk_Score__c: 12, Smk_Grade__c: null },
      { Id: '00Q5g00000KjX3dEAF', Smk_Score__c: 1, Smk_Grade__c: 'cold' },
    ];
    const results = await updateByBulk(client, 'Lead', records, { pollTimeoutMs: 10_000, pollIntervalMs: 10 });

    expect(results).toMatchObject([
      { ok: true, id: '00Q5g00000KjX3aEAF' },
      { ok: false, error: { code: 'NOT_FOUND', vendorCode: 'ENTITY_IS_DELETED', recordId: '00Q5g00000KjX3bEAF' } },
      { ok: true, id: '00Q5g00000KjX3cEAF' },
      { ok: false, error: { code: 'TRANSIENT', message: expect.stringMatching(/not processed by Bulk API job/) as unknown as string } },
    ]);
    // A null travels as Bulk API's #N/A ("set to null").
    expect(uploaded.split('\n')[0]).toBe('Id,Smk_Score__c,Smk_Grade__c');
    expect(uploaded).toContain('00Q5g00000KjX3cEAF,12,#N/A');
    // Every request of the job is an API call the gate counted.
    expect(taken).toBe(7);
    expect(nock.isDone()).toBe(true);
  });
});

describe('a Bulk API 2.0 job whose outcome was lost', () => {
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('is asked before its records are written again: what it wrote is not written twice', async () => {
    const gate: QuotaGate = {
      take: async () => {},
      observe: async () => {},
      report: async () => ({ crm: 'salesforce', dailyUsed: 0, dailyLimit: null, dailyBudget: null, paused: false }),
    };
    const job = { id: JOB, object: 'Lead', operation: 'update', state: 'Open', contentType: 'CSV', apiVersion: 62, lineEnding: 'LF', columnDelimiter: 'COMMA' };
    const json = { 'Content-Type': 'application/json;charset=UTF-8' };
    const csv = { 'Content-Type': 'text/csv' };
    let created = 0;
    nock(INSTANCE)
      .post(BASE, () => {
        created += 1;
        return true;
      })
      .reply(200, job, json)
      .put(`${BASE}/${JOB}/batches`)
      .reply(201, '', json)
      .patch(`${BASE}/${JOB}`, { state: 'UploadComplete' })
      .reply(200, { ...job, state: 'UploadComplete' }, json)
      // The job runs, but its polling fails: the outcome is unknown.
      .get(`${BASE}/${JOB}`)
      .reply(503, [{ errorCode: 'SERVER_UNAVAILABLE', message: 'down for maintenance' }], json);
    const client = new SalesforceClient({ instanceUrl: INSTANCE, loginUrl: 'https://login.salesforce.com', accessToken: 't', gate });
    const records = [
      { Id: '00Q5g00000KjX3aEAF', Smk_Score__c: 87 },
      { Id: '00Q5g00000KjX3bEAF', Smk_Score__c: 40 },
    ];
    const first = await updateByBulk(client, 'Lead', records, { pollTimeoutMs: 10_000, pollIntervalMs: 10 });
    expect(first.every((r) => !r.ok)).toBe(true);

    // Asked again (write-back's retry): the job is looked up, not created again.
    nock(INSTANCE)
      .get(`${BASE}/${JOB}`)
      .reply(200, { ...job, state: 'JobComplete', numberRecordsProcessed: 2, numberRecordsFailed: 0 }, json)
      .get(`${BASE}/${JOB}/successfulResults`)
      .reply(200, 'sf__Id,sf__Created,Id,Smk_Score__c\n00Q5g00000KjX3aEAF,false,00Q5g00000KjX3aEAF,87\n00Q5g00000KjX3bEAF,false,00Q5g00000KjX3bEAF,40\n', csv)
      .get(`${BASE}/${JOB}/failedResults`)
      .reply(200, 'sf__Id,sf__Error,Id,Smk_Score__c\n', csv)
      .get(`${BASE}/${JOB}/unprocessedrecords`)
      .reply(200, 'Id,Smk_Score__c\n', csv);
    const second = await updateByBulk(client, 'Lead', records, { pollTimeoutMs: 10_000, pollIntervalMs: 10 });
    expect(second).toMatchObject([{ ok: true, id: '00Q5g00000KjX3aEAF' }, { ok: true, id: '00Q5g00000KjX3bEAF' }]);
    expect(created).toBe(1);
    expect(nock.isDone()).toBe(true);
    forgetUnsettledBulkJobs(client);
  });
});
