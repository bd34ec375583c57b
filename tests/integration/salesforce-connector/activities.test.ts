/**
 * The activity feed through jsforce against the Salesforce sandbox: calls and emails reps log on
 * Leads and Contacts (completed, with their completion time), never the connector's own Tasks;
 * then only what changed (a task completed later, one reopened, one deleted, through queryAll).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceConnector } from '../../../connectors/salesforce/index.js';
import type { ActivityPage, FeedPosition } from '../../../connectors/types.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

describe('Salesforce activity feed', () => {
  let h: Harness;
  let sf: SalesforceConnector;
  let position: FeedPosition = {};
  let leadId: string;
  let contactId: string;

  async function poll(): Promise<ActivityPage[]> {
    h.sandbox.clock.advance(2_000);
    const out: ActivityPage[] = [];
    for await (const page of sf.activities!(position, { now: new Date(h.sandbox.clock.now()), safetyMarginMs: 1_000 })) {
      out.push(page);
      if (page.position) position = { ...position, [page.stream]: page.position };
    }
    return out;
  }

  beforeAll(async () => {
    h = await startHarness('sf-activities', 200, 11);
    sf = h.connector();
    leadId = h.sandbox.store.list('Lead').find((r) => r.IsConverted !== true)!.Id as string;
    contactId = h.sandbox.store.list('Contact')[0]!.Id as string;
  }, 60_000);
  afterAll(async () => {
    await h.close();
  });

  it('reads the calls and emails logged on people, completed ones with their time, and not the connector\'s own tasks', async () => {
    const store = h.sandbox.store;
    const before = (await poll()).flatMap((p) => p.activities).length;
    const call = store.logCall(leadId, 'Intro call');
    const email = store.insert('Task', { WhoId: contactId, Subject: 'Follow-up email', Status: 'Completed', IsClosed: true, TaskSubtype: 'Email', OwnerId: store.get(contactId)!.OwnerId as string });
    const legacy = store.insert('Task', { WhoId: leadId, Subject: 'Old-style call', Status: 'Not Started', IsClosed: false, Type: 'Call' });
    store.insert('Task', { WhoId: leadId, Subject: 'MQL handoff: call within 4h', Status: 'Not Started', TaskSubtype: 'Task' });
    const facts = (await poll()).flatMap((p) => p.activities);
    expect(before).toBe(h.sandbox.store.list('Task').filter((t) => t.Id !== call.Id && t.Id !== email.Id && t.Id !== legacy.Id && (t.TaskSubtype === 'Call' || t.TaskSubtype === 'Email' || t.Type === 'Call' || t.Type === 'Email')).length);
    expect(facts.map((f) => [f.id, f.kind, f.who, f.completedAt !== null])).toEqual([
      [call.Id, 'call', { object: 'Lead', id: leadId }, true],
      [email.Id, 'email', { object: 'Contact', id: contactId }, true],
      [legacy.Id, 'call', { object: 'Lead', id: leadId }, false],
    ]);
    const logged = facts[0]!;
    expect(logged).toMatchObject({ subject: 'Intro call', deleted: false, ownerId: store.get(leadId)!.OwnerId });
    expect(Date.parse(logged.completedAt!)).toBe(call.CompletedDateTime);
    expect((await poll()).flatMap((p) => p.activities)).toEqual([]);
  });

  it('hands on a task completed later, one reopened and one deleted', async () => {
    const store = h.sandbox.store;
    const [open] = store.list('Task').filter((t) => t.Subject === 'Old-style call');
    const [done] = store.list('Task').filter((t) => t.Subject === 'Follow-up email');
    const [call] = store.list('Task').filter((t) => t.Subject === 'Intro call');
    h.sandbox.clock.advance(60_000);
    store.update(open!, { Status: 'Completed', IsClosed: true });
    store.update(done!, { Status: 'In Progress', IsClosed: false });
    store.softDelete(call!, {});
    const facts = (await poll()).flatMap((p) => p.activities);
    const byId = new Map(facts.map((f) => [f.id, f]));
    expect(byId.get(open!.Id as string)?.completedAt).toBe(new Date(store.get(open!.Id as string)!.CompletedDateTime as number).toISOString());
    expect(byId.get(done!.Id as string)?.completedAt).toBeNull();
    expect(byId.get(call!.Id as string)?.deleted).toBe(true);
  });
});
