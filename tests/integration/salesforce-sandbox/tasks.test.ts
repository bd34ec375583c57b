/**
 * Tasks as reps log them, through jsforce: IsClosed follows the status, CompletedDateTime is set by
 * Salesforce when the task is saved as completed and cleared when it is reopened, and TaskSubtype
 * can be set on create only. [C] Object Reference, Task: CompletedDateTime "the date and time the
 * task was saved as Completed or Closed" (read-only, API 46.0+), IsClosed (read-only, from the
 * status), TaskSubtype (create, not update).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import { connect, rejection, seedLeads } from './helpers.js';

let sb: SalesforceSandbox;
let leadId: string;

beforeAll(async () => {
  sb = await startSalesforceSandbox({ seed: 29 });
  leadId = seedLeads(sb, 1)[0]?.Id as string;
});
afterAll(async () => {
  await sb.close();
});

interface TaskRow {
  Id: string;
  IsClosed: boolean;
  CompletedDateTime: string | null;
  TaskSubtype: string | null;
}

async function task(id: string): Promise<TaskRow> {
  const res = await connect(sb).query<TaskRow>(`SELECT Id, IsClosed, CompletedDateTime, TaskSubtype FROM Task WHERE Id = '${id}'`);
  return res.records[0] as TaskRow;
}

describe('Task completion', () => {
  it('stamps CompletedDateTime when a task is created or saved as completed, and clears it when reopened', async () => {
    const conn = connect(sb);
    // The sandbox's clock runs: a stamp falls between the whole seconds before and after the call.
    const second = () => Math.floor(sb.clock.now() / 1000) * 1000;
    const within = (stamp: string | null, from: number, to: number) => {
      expect(Date.parse(stamp as string)).toBeGreaterThanOrEqual(from);
      expect(Date.parse(stamp as string)).toBeLessThanOrEqual(to);
    };
    let from = second();
    const logged = await conn.sobject('Task').create({ WhoId: leadId, Subject: 'Call', Status: 'Completed', TaskSubtype: 'Call', Type: 'Call' });
    const created = await task(logged.id as string);
    expect(created).toMatchObject({ IsClosed: true, TaskSubtype: 'Call' });
    within(created.CompletedDateTime, from, second());

    const todo = await conn.sobject('Task').create({ WhoId: leadId, Subject: 'Email', Status: 'Not Started', TaskSubtype: 'Email' });
    expect(await task(todo.id as string)).toMatchObject({ IsClosed: false, CompletedDateTime: null });
    sb.clock.advance(3_600_000);
    from = second();
    await conn.sobject('Task').update({ Id: todo.id as string, Status: 'Completed' });
    const done = await task(todo.id as string);
    expect(done.IsClosed).toBe(true);
    within(done.CompletedDateTime, from, second());

    await conn.sobject('Task').update({ Id: todo.id as string, Status: 'In Progress' });
    expect(await task(todo.id as string)).toMatchObject({ IsClosed: false, CompletedDateTime: null });
  });

  it('refuses CompletedDateTime and IsClosed from the API, and TaskSubtype on update', async () => {
    const conn = connect(sb);
    const made = await conn.sobject('Task').create({ WhoId: leadId, Subject: 'Call', Status: 'Completed', TaskSubtype: 'Call' });
    const stamp = await rejection(conn.sobject('Task').update({ Id: made.id as string, CompletedDateTime: '2020-01-01T00:00:00.000Z' }));
    expect(stamp.errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    const subtype = await rejection(conn.sobject('Task').update({ Id: made.id as string, TaskSubtype: 'Email' }));
    expect(subtype.errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
  });
});
