import { describe, expect, it } from 'vitest';
import { duplicateChecks, emailCounts, parseWorkerCounts, scaleOutSummary, WriteLog } from '../../../bench/lib/scale-out.js';
import type { DuplicateReport } from '../../../bench/lib/scale-out.js';

describe('--scale-out worker counts', () => {
  it('reads a comma-separated list of worker counts, in the order given', () => {
    expect(parseWorkerCounts('1,2,4')).toEqual([1, 2, 4]);
    expect(parseWorkerCounts(' 4, 1 ')).toEqual([4, 1]);
    expect(parseWorkerCounts('2')).toEqual([2]);
  });

  it('names what is wrong with a bad list', () => {
    expect(() => parseWorkerCounts('')).toThrow(/--scale-out/);
    expect(() => parseWorkerCounts('1,x')).toThrow(/"x"/);
    expect(() => parseWorkerCounts('0,2')).toThrow(/"0".*1 to 8/);
    expect(() => parseWorkerCounts('9')).toThrow(/"9"/);
    expect(() => parseWorkerCounts('1.5')).toThrow(/"1.5"/);
    expect(() => parseWorkerCounts('2,2')).toThrow(/2 twice/);
  });
});

describe('emailCounts', () => {
  it('counts people by email, case-insensitively, skipping records without one', () => {
    const counts = emailCounts(['a@x.com', 'A@X.com', 'b@x.com', null, undefined, '']);
    expect(Object.fromEntries(counts)).toEqual({ 'a@x.com': 2, 'b@x.com': 1 });
  });
});

describe('the write log', () => {
  it('counts writes, records, writes that changed nothing, and writes that repeat earlier values of the same record', () => {
    const log = new WriteLog();
    log.add('hubspot', '101', { smk_score: '40', lifecyclestage: 'lead' }, true);
    log.add('hubspot', '102', { smk_score: '40', lifecyclestage: 'lead' }, true); // another record: no repeat
    log.add('hubspot', '101', { lifecyclestage: 'lead', smk_score: '40' }, false); // same values, other key order: a repeat
    log.add('hubspot', '101', { smk_score: '50' }, true);
    log.add('salesforce', '00Q1', { Smk_Score__c: 40 }, true);
    log.add('salesforce', '00Q1', { Smk_Score__c: 40 }, true); // a repeat, even though something else had changed it between
    log.add('salesforce', '00Q1', { Smk_Score__c: 40 }, false); // and again
    const report = log.report();
    expect(report.hubspot).toMatchObject({ writes: 4, records: 2, unchanged: 1, repeated: 1 });
    expect(report.salesforce).toMatchObject({ writes: 3, records: 1, unchanged: 1, repeated: 2 });
    expect(report.salesforce.examples).toEqual([{ id: '00Q1', values: { Smk_Score__c: 40 }, times: 3 }]);
    expect(report.hubspot.examples).toEqual([{ id: '101', values: { lifecyclestage: 'lead', smk_score: '40' }, times: 2 }]);
    expect(report.hubspot.unchangedExamples).toEqual([{ id: '101', values: { lifecyclestage: 'lead', smk_score: '40' } }]);
  });

  it('tells the writes that changed nothing on records it saw created', () => {
    const log = new WriteLog();
    log.created('salesforce', '00Q9');
    log.add('salesforce', '00Q9', { Email: 'a@x.com' }, false);
    log.add('salesforce', '00Q1', { Email: 'b@x.com' }, false);
    log.add('hubspot', '101', { email: 'b@x.com' }, true);
    expect(log.report().salesforce).toMatchObject({ unchanged: 2, unchangedOnCreated: 1 });
    expect(log.report().hubspot).toMatchObject({ unchanged: 0, unchangedOnCreated: 0 });
  });

  it('keeps at most a few examples', () => {
    const log = new WriteLog();
    for (let i = 0; i < 50; i += 1) for (let k = 0; k < 2; k += 1) log.add('hubspot', String(i), { a: '1' }, true);
    expect(log.report().hubspot.repeated).toBe(50);
    expect(log.report().hubspot.examples.length).toBeLessThanOrEqual(5);
  });
});

describe('duplicateChecks', () => {
  const clean = (): DuplicateReport => ({
    people: { hubspot: [], salesforce: [] },
    writes: {
      hubspot: { writes: 10, records: 10, unchanged: 0, unchangedOnCreated: 0, repeated: 0, examples: [], unchangedExamples: [] },
      salesforce: { writes: 8, records: 8, unchanged: 0, unchangedOnCreated: 0, repeated: 0, examples: [], unchangedExamples: [] },
    },
  });

  it('passes a sandbox report with no duplicate person and no repeated write', () => {
    const checks = duplicateChecks(clean());
    expect(checks).toMatchObject({
      duplicatePeople: { hubspot: 0, salesforce: 0 },
      extraRecords: { hubspot: 0, salesforce: 0 },
      repeatedWrites: { hubspot: 0, salesforce: 0 },
      unchangedWrites: { hubspot: 0, salesforce: 0 },
    });
    expect(checks.failures).toEqual([]);
  });

  it('counts a person the sync gave a second record, but not the duplicates the seeded world already had', () => {
    const report = clean();
    report.people.salesforce = [
      { email: 'seeded-twice@x.com', seeded: 2, now: 2 }, // the world's own duplicate Leads: not the sync's
      { email: 'one@x.com', seeded: 1, now: 2 }, // created again: one extra
      { email: 'hs-only@x.com', seeded: 0, now: 3 }, // created three times for a HubSpot-only person: two extra
    ];
    report.people.hubspot = [{ email: 'sf-only@x.com', seeded: 0, now: 2 }];
    const checks = duplicateChecks(report);
    expect(checks.duplicatePeople).toEqual({ hubspot: 1, salesforce: 2 });
    expect(checks.extraRecords).toEqual({ hubspot: 1, salesforce: 3 });
    expect(checks.failures).toEqual([
      'HubSpot: 1 person has 1 record more than the seeded world gave (e.g. sf-only@x.com: 2, seeded 0)',
      'Salesforce: 2 people have 3 records more than the seeded world gave (e.g. one@x.com: 2, seeded 1)',
    ]);
  });

  it('fails on a repeated write and on a write that changed nothing, naming an example', () => {
    const report = clean();
    report.writes.salesforce = {
      writes: 9, records: 8, unchanged: 1, unchangedOnCreated: 1, repeated: 1,
      examples: [{ id: '00Q1', values: { Smk_Reasons__c: 'x'.repeat(300), Smk_Score__c: 40 }, times: 2 }],
      unchangedExamples: [{ id: '00Q2', values: { Title: 'CEO' } }],
    };
    const checks = duplicateChecks(report);
    expect(checks.repeatedWrites).toEqual({ hubspot: 0, salesforce: 1 });
    expect(checks.unchangedWrites).toEqual({ hubspot: 0, salesforce: 1 });
    expect(checks.failures).toHaveLength(2);
    // The example's values are cut short: a line, not a record dump.
    expect(checks.failures[0]).toMatch(/^Salesforce: 1 write repeated values already written to its record \(e\.g\. 00Q1 \{"Smk_Reasons__c":"xxx.{0,120}\.\.\. 2 times\)$/);
    expect(checks.failures[1]).toBe('Salesforce: 1 write changed nothing, 1 of them to a record the connector had created (e.g. 00Q2 {"Title":"CEO"})');
  });
});

describe('the scaleOut summary key', () => {
  it('maps each worker count to its full-sync leads/s, rounded', () => {
    expect(scaleOutSummary([
      { workers: 1, leadsPerSec: 101.4 },
      { workers: 2, leadsPerSec: 180.6 },
      { workers: 4, leadsPerSec: null },
    ])).toEqual({ '1': 101, '2': 181, '4': null });
  });

  it('is null when the scale-out was not run', () => {
    expect(scaleOutSummary(null)).toBeNull();
    expect(scaleOutSummary([])).toBeNull();
  });
});
