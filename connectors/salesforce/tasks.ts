/**
 * Tasks for reps (a handoff, an SLA escalation), created once per idempotency key. A real org has
 * no custom field on Task to hold our key, and Task.Description (a long text area) cannot be
 * filtered in SOQL. So the key is appended to the Description as a marker, and before inserting,
 * the tasks already on those people with those subjects are read (`WHERE WhoId IN (...) AND
 * Subject IN (...)`, one query per 100 requests) and searched for the marker.
 */
import { z } from 'zod';
import { CrmError } from '../errors.js';
import type { TaskRequest } from '../types.js';
import { chunk, saveByCollections } from './batch.js';
import type { SalesforceClient } from './client.js';
import { parseOrThrow } from './client.js';
import { existingTasksQuery, isSalesforceId } from './soql.js';
import type { SObjectFields } from './validation.js';
import { refusal } from './validation.js';

export type TaskOutcome = { key: string; ok: true; id: string; created: boolean } | { key: string; ok: false; error: CrmError };

/** The marker that carries the key in the Description. */
export function taskMarker(key: string): string {
  return `[smk:${key}]`;
}

const taskRowSchema = z.object({
  Id: z.string(),
  WhoId: z.string().nullable().optional(),
  Subject: z.string().nullable().optional(),
  Description: z.string().nullable().optional(),
});

const SUBJECT_MAX = 255;
const DESCRIPTION_MAX = 32_000;

function checkTask(task: TaskRequest): CrmError | null {
  const label = `task ${task.key}`;
  if (!task.key) return refusal(label, undefined, 'key', '', 'is required');
  if (!isSalesforceId(task.whoId)) return refusal(label, undefined, 'WhoId', task.whoId, 'is not a Lead or Contact id');
  if (!isSalesforceId(task.ownerId)) return refusal(label, undefined, 'OwnerId', task.ownerId, 'is not a user id');
  if (!task.subject.trim() || task.subject.length > SUBJECT_MAX) return refusal(label, undefined, 'Subject', task.subject, `must be 1 to ${SUBJECT_MAX} characters`);
  const description = `${task.description}\n\n${taskMarker(task.key)}`;
  if (description.length > DESCRIPTION_MAX) return refusal(label, undefined, 'Description', task.description, `is over ${DESCRIPTION_MAX} characters`);
  if (task.dueDate !== undefined && !/^\d{4}-\d{2}-\d{2}/.test(task.dueDate)) return refusal(label, undefined, 'ActivityDate', task.dueDate, 'is not a date');
  return null;
}

function taskRecord(task: TaskRequest): SObjectFields {
  return {
    Subject: task.subject,
    Description: `${task.description}\n\n${taskMarker(task.key)}`,
    WhoId: task.whoId,
    OwnerId: task.ownerId,
    Status: 'Not Started',
    TaskSubtype: 'Task',
    ...(task.dueDate ? { ActivityDate: task.dueDate.slice(0, 10) } : {}),
  };
}

export async function createTasks(client: SalesforceClient, tasks: readonly TaskRequest[]): Promise<TaskOutcome[]> {
  const outcomes = new Map<string, TaskOutcome>();
  const valid: TaskRequest[] = [];
  for (const task of tasks) {
    if (outcomes.has(task.key) || valid.some((t) => t.key === task.key)) continue;
    const error = checkTask(task);
    if (error) outcomes.set(task.key, { key: task.key, ok: false, error });
    else valid.push(task);
  }
  // A first try has no earlier task to find: only retries are looked up.
  const todo: TaskRequest[] = valid.filter((t) => t.firstTry === true);
  for (const part of chunk(valid.filter((t) => t.firstTry !== true), 100)) {
    const soql = existingTasksQuery([...new Set(part.map((t) => t.whoId))], [...new Set(part.map((t) => t.subject))]);
    const rows = (await client.queryAll('existing tasks', soql)).map((raw) => parseOrThrow(taskRowSchema, raw, 'Task'));
    for (const task of part) {
      const marker = taskMarker(task.key);
      const hit = rows.find((r) => r.WhoId?.slice(0, 15) === task.whoId.slice(0, 15) && r.Subject === task.subject && r.Description?.includes(marker));
      if (hit) outcomes.set(task.key, { key: task.key, ok: true, id: hit.Id, created: false });
      else todo.push(task);
    }
  }
  if (todo.length > 0) {
    const results = await saveByCollections(client, 'create', 'Task', todo.map(taskRecord));
    todo.forEach((task, i) => {
      const res = results[i];
      outcomes.set(
        task.key,
        res?.ok
          ? { key: task.key, ok: true, id: res.id, created: true }
          : { key: task.key, ok: false, error: res && !res.ok ? res.error : new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: 'no result for this task' }) },
      );
    });
  }
  return tasks.map((t) => outcomes.get(t.key) ?? { key: t.key, ok: false, error: new CrmError({ crm: 'salesforce', code: 'TRANSIENT', message: 'task not processed' }) });
}
