/**
 * What a user does in the CRMs during a layer-2 sequence, through the official clients (and the
 * sandboxes' control API where a vendor UI would act: web activity, a Lead conversion, a merge).
 * People are named by handle, not by record id: ids differ between the two sides once the
 * connector has created records in a different order, so each side finds the records by email.
 */
import type { Sandboxes } from '../../../connectors/sandbox/start.js';
import type { CrmName } from '../../../src/model/lead.js';
import { sandboxControl } from '../../helpers/sandbox-io.js';
import type { Side } from './side.js';

export type HubSpotProperty = 'jobtitle' | 'phone' | 'city';
export type SalesforceField = 'Title' | 'Phone' | 'City';

export type UserOp =
  | { kind: 'hsEdit'; who: number; property: HubSpotProperty; value: string }
  | { kind: 'sfEdit'; who: number; field: SalesforceField; value: string }
  | { kind: 'sfStatus'; who: number; status: string }
  | { kind: 'activity'; who: number; activity: 'page_view' | 'form_submission' | 'email_click'; count: number }
  | { kind: 'hsCreate'; title: string }
  | { kind: 'sfCreate'; title: string }
  | { kind: 'hsDelete'; who: number }
  | { kind: 'sfDelete'; who: number }
  | { kind: 'convert'; who: number }
  /** HubSpot merges `who`'s contact into `into`'s. */
  | { kind: 'hsMerge'; who: number; into: number }
  | { kind: 'emailChange'; who: number; crm: CrmName };

/** A person as the user knows them: the email each CRM has for them (null once gone from that CRM). */
export interface Person {
  handle: number;
  email: Record<CrmName, string | null>;
}

/** The user's address book of one side: the seeded people first, then the ones the sequence creates. */
export interface People {
  list: Person[];
  created: number;
  emailChanges: number;
}

export function initialPeople(sandboxes: Sandboxes, count: number): People {
  const list = sandboxes.world.people.slice(0, count).map((p, handle) => {
    const email = (p.hubspot?.email ?? p.salesforce?.email ?? '').toLowerCase();
    // After the first sync the connector has created each person in the CRM that lacked them.
    return { handle, email: { hubspot: email, salesforce: email } };
  });
  return { list, created: 0, emailChanges: 0 };
}

export function describeOp(op: UserOp): string {
  return JSON.stringify(op);
}

async function hubspotIdOf(side: Side, email: string | null): Promise<string | null> {
  if (!email) return null;
  const all = await side.hubspot.crm.contacts.getAll(100, undefined, ['email']);
  return all.find((c) => (c.properties.email ?? '').toLowerCase() === email)?.id ?? null;
}

/** The Salesforce record sales works on for this email: an open Lead, else a Contact. */
export async function salesforceRecordOf(side: Side, email: string | null): Promise<{ object: 'Lead' | 'Contact'; id: string } | null> {
  if (!email) return null;
  for (const object of ['Lead', 'Contact'] as const) {
    const where = object === 'Lead' ? ' WHERE IsConverted = false' : '';
    const rows = await side.salesforce.query<{ Id: string; Email: string | null }>(`SELECT Id, Email FROM ${object}${where}`, { autoFetch: true, maxFetch: 100_000 });
    const row = rows.records.find((r) => (r.Email ?? '').toLowerCase() === email);
    if (row) return { object, id: row.Id };
  }
  return null;
}

function person(people: People, who: number): Person | null {
  return people.list[who % Math.max(1, people.list.length)] ?? null;
}

/** Applies one user operation to one side; returns what it did (or why it did nothing). */
export async function applyUserOp(side: Side, people: People, op: UserOp): Promise<string> {
  const hsUrl = side.sandboxes.hubspot.baseUrl;
  const sfUrl = side.sandboxes.salesforce.instanceUrl;
  switch (op.kind) {
    case 'hsEdit': {
      const p = person(people, op.who);
      const id = await hubspotIdOf(side, p?.email.hubspot ?? null);
      if (!id) return 'no HubSpot contact';
      await side.hubspot.crm.contacts.basicApi.update(id, { properties: { [op.property]: op.value } });
      return `HubSpot ${id} ${op.property}`;
    }
    case 'sfEdit': {
      const p = person(people, op.who);
      const rec = await salesforceRecordOf(side, p?.email.salesforce ?? null);
      if (!rec) return 'no Salesforce record';
      // A Contact's city is its mailing city.
      const field = rec.object === 'Contact' && op.field === 'City' ? 'MailingCity' : op.field;
      await side.salesforce.sobject(rec.object).update({ Id: rec.id, [field]: op.value });
      return `Salesforce ${rec.object} ${rec.id} ${field}`;
    }
    case 'sfStatus': {
      const p = person(people, op.who);
      const rec = await salesforceRecordOf(side, p?.email.salesforce ?? null);
      if (!rec || rec.object !== 'Lead') return 'no open Lead';
      await side.salesforce.sobject('Lead').update({ Id: rec.id, Status: op.status });
      return `Salesforce Lead ${rec.id} Status`;
    }
    case 'activity': {
      const p = person(people, op.who);
      const id = await hubspotIdOf(side, p?.email.hubspot ?? null);
      if (!id) return 'no HubSpot contact';
      await sandboxControl(hsUrl, '/activity', { contactId: id, kind: op.activity, count: op.count });
      return `HubSpot ${id} ${op.activity} ×${op.count}`;
    }
    case 'hsCreate': {
      people.created += 1;
      const email = `model.person${people.created}@model-test.example`;
      const created = await side.hubspot.crm.contacts.basicApi.create({ properties: { email, firstname: 'Model', lastname: `Person ${people.created}`, jobtitle: op.title, company: 'Model Labs' }, associations: [] });
      people.list.push({ handle: people.list.length, email: { hubspot: email, salesforce: email } });
      return `HubSpot ${created.id} created`;
    }
    case 'sfCreate': {
      people.created += 1;
      const email = `model.person${people.created}@model-test.example`;
      const created = await side.salesforce.sobject('Lead').create({ Email: email, FirstName: 'Model', LastName: `Person ${people.created}`, Company: 'Model Labs', Title: op.title });
      people.list.push({ handle: people.list.length, email: { hubspot: email, salesforce: email } });
      return `Salesforce Lead ${'id' in created ? created.id : '?'} created`;
    }
    case 'hsDelete': {
      const p = person(people, op.who);
      const id = await hubspotIdOf(side, p?.email.hubspot ?? null);
      if (!id || !p) return 'no HubSpot contact';
      await side.hubspot.crm.contacts.basicApi.archive(id);
      p.email.hubspot = null;
      return `HubSpot ${id} archived`;
    }
    case 'sfDelete': {
      const p = person(people, op.who);
      const rec = await salesforceRecordOf(side, p?.email.salesforce ?? null);
      if (!rec || !p) return 'no Salesforce record';
      await side.salesforce.sobject(rec.object).destroy(rec.id);
      p.email.salesforce = null;
      return `Salesforce ${rec.object} ${rec.id} deleted`;
    }
    case 'convert': {
      const p = person(people, op.who);
      const rec = await salesforceRecordOf(side, p?.email.salesforce ?? null);
      if (!rec || rec.object !== 'Lead') return 'no open Lead';
      const result = (await sandboxControl(sfUrl, '/activity', { kind: 'convert', id: rec.id })) as { contactId?: string };
      return `Salesforce Lead ${rec.id} converted to ${result.contactId ?? '?'}`;
    }
    case 'hsMerge': {
      const merged = person(people, op.who);
      const survivor = person(people, op.into);
      if (!merged || !survivor || merged === survivor) return 'nobody to merge';
      const [mergedId, survivorId] = [await hubspotIdOf(side, merged.email.hubspot), await hubspotIdOf(side, survivor.email.hubspot)];
      if (!mergedId || !survivorId || mergedId === survivorId) return 'no two HubSpot contacts';
      await sandboxControl(hsUrl, '/merge', { primaryId: survivorId, mergedId });
      merged.email.hubspot = null;
      return `HubSpot ${mergedId} merged into ${survivorId}`;
    }
    case 'emailChange': {
      const p = person(people, op.who);
      if (!p) return 'nobody';
      people.emailChanges += 1;
      const email = `model.changed${people.emailChanges}.h${p.handle}@model-test.example`;
      if (op.crm === 'hubspot') {
        const id = await hubspotIdOf(side, p.email.hubspot);
        if (!id) return 'no HubSpot contact';
        await side.hubspot.crm.contacts.basicApi.update(id, { properties: { email } });
      } else {
        const rec = await salesforceRecordOf(side, p.email.salesforce);
        if (!rec) return 'no Salesforce record';
        await side.salesforce.sobject(rec.object).update({ Id: rec.id, Email: email });
      }
      p.email[op.crm] = email;
      return `${op.crm} email of ${p.handle} changed`;
    }
  }
}
