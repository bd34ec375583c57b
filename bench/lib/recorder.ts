/**
 * What the benchmark's sandbox process records while it watches both sandboxes (see
 * bench/sandbox-child.ts): which records the connector wrote or created, the time of every HubSpot
 * call, response statuses, and for watched records a timeline of user changes and connector writes.
 *
 * Who wrote is told by who made the call, never by which field changed (field sync writes the
 * same fields a user does):
 * - Salesforce: the connector names itself in `Sforce-Call-Options: client=<id>` on every call, and
 *   the sandbox carries that into each write's changeOrigin (as Change Data Capture reports it); the
 *   bench's "user" calls name no client.
 * - HubSpot: the user's changes are made with another token of the portal and set only
 *   `jobtitle`; the connector writes `jobtitle` only when a Salesforce title changed, which the
 *   bench's burst never does.
 */
import { createRandom } from '../../connectors/sandbox/common.js';
import type { Sandboxes } from '../../connectors/sandbox/start.js';
import { textOf } from '../../connectors/hubspot/sandbox/contact-model.js';
import type { StoreEvent } from '../../connectors/hubspot/sandbox/store.js';
import { currentWriteOrigin } from '../../connectors/salesforce/sandbox/change-events.js';
import { crowdedEmails, emailCounts, WriteLog } from './scale-out.js';
import type { DuplicateReport } from './scale-out.js';

/** HubSpot properties a bench "user" changes; every other API write of a contact is the connector's. */
export const USER_HUBSPOT_PROPERTIES = new Set(['jobtitle']);
/** A Salesforce write is the connector's when its call named a client (`;client=` in its changeOrigin). */
const CONNECTOR_ORIGIN = /;client=/;
/** What the rules write (not field sync): smk fields, the owner, the lifecycle stage. */
const VERDICT_SF_FIELD = /^(Smk_|OwnerId$)/;
const VERDICT_HUBSPOT_PROPERTY = /^(smk_|hubspot_owner_id$|lifecyclestage$)/;
/**
 * The HubSpot sandbox sets `associatedcompanyid` itself when an association call changes a
 * contact's primary company (connectors/hubspot/sandbox/primary-company.ts): not a property write.
 */
const DERIVED_HUBSPOT_PROPERTY = 'associatedcompanyid';

export type Who = 'user' | 'connector';
export interface Mark {
  t: number;
  who: Who;
}

interface PhaseCounters {
  startedAt: number;
  /** `verdicts`: records a connector write of the rules' own values touched (the rest of `written` is field sync alone). */
  hubspot: { written: Set<string>; verdicts: Set<string>; created: Set<string>; createdAt: Map<string, number>; callTimes: number[]; statuses: Map<number, number> };
  salesforce: { written: Map<string, Set<string>>; verdicts: Set<string>; created: Map<string, number>; statuses: Map<number, number> };
}

export function newCounters(): PhaseCounters {
  return {
    startedAt: Date.now(),
    hubspot: { written: new Set(), verdicts: new Set(), created: new Set(), createdAt: new Map(), callTimes: [], statuses: new Map() },
    salesforce: { written: new Map(), verdicts: new Set(), created: new Map(), statuses: new Map() },
  };
}

export interface Candidate {
  email: string;
  hubspotId: string;
  salesforceId: string;
  title: string | null;
  employees: number | null;
  hubspotScore: number | null;
  salesforceScore: number | null;
}

export class Recorder {
  counters = newCounters();
  readonly watched = { hubspot: new Map<string, Mark[]>(), salesforce: new Map<string, Mark[]>() };
  /**
   * Every API write of a record since the sandbox started (not reset per phase), for the scale-out's
   * duplicate checks: HubSpot writes through the API (the bench's user burst too, so read it after a
   * full sync alone), Salesforce writes whose call named a client.
   */
  readonly writeLog = new WriteLog();
  /** People per email in the seeded world, before any write. */
  private readonly seededPeople: ReturnType<Recorder['peopleByEmail']>;

  constructor(private readonly sb: Sandboxes) {
    this.seededPeople = this.peopleByEmail();
    const hs = sb.hubspot;
    hs.store.onEvent((e) => this.onHubSpotEvent(e));
    const hsUpdate = hs.store.update.bind(hs.store);
    hs.store.update = (c, values, source, at) => {
      // The store's own test of a change (connectors/hubspot/sandbox/store.ts `update`), made before it applies them.
      const changed = [...values].some(([name, value]) => (textOf(c.props, name) ?? '') !== value);
      const derived = values.size === 1 && values.has(DERIVED_HUBSPOT_PROPERTY);
      if (source.changeSource === 'INTEGRATION' && !derived) this.writeLog.add('hubspot', c.id, Object.fromEntries(values), changed);
      return hsUpdate(c, values, source, at);
    };
    const record = hs.monitor.record.bind(hs.monitor);
    hs.monitor.record = (method: string, path: string) => {
      this.counters.hubspot.callTimes.push(Date.now());
      record(method, path);
    };
    for (const crm of ['hubspot', 'salesforce'] as const) {
      const monitor = sb[crm].monitor;
      const logServed = monitor.logServed.bind(monitor);
      monitor.logServed = (entry) => {
        const statuses = this.counters[crm].statuses;
        statuses.set(entry.status, (statuses.get(entry.status) ?? 0) + 1);
        logServed(entry);
      };
    }
    const store = sb.salesforce.store;
    const update = store.update.bind(store);
    store.update = (record, changes, options = {}) => {
      // As the store tells a changed field for Change Data Capture (`record[k] !== changes[k]`), before it applies them.
      const changed = Object.keys(changes).some((k) => record[k] !== changes[k]);
      const connector = CONNECTOR_ORIGIN.test(currentWriteOrigin()?.changeOrigin ?? '');
      if (connector && !options.systemOnly && !options.deleting) this.writeLog.add('salesforce', String(record.Id), changes, changed);
      const out = update(record, changes, options);
      this.onSalesforceUpdate(String(record.Id), changes);
      return out;
    };
    const insert = store.insert.bind(store);
    store.insert = (type, values, options = {}) => {
      const out = insert(type, values, options);
      if (CONNECTOR_ORIGIN.test(currentWriteOrigin()?.changeOrigin ?? '')) this.writeLog.created('salesforce', String(out.Id));
      const created = this.counters.salesforce.created;
      created.set(type, (created.get(type) ?? 0) + 1);
      return out;
    };
  }

  private mark(map: Map<string, Mark[]>, id: string, who: Who): void {
    const marks = map.get(id);
    if (marks) marks.push({ t: Date.now(), who });
  }

  private onHubSpotEvent(e: StoreEvent): void {
    if (e.source.changeSource !== 'INTEGRATION' && e.source.changeSource !== 'CRM_UI') return;
    const c = this.counters.hubspot;
    if (e.kind === 'creation') {
      if (e.source.changeSource === 'INTEGRATION') {
        this.writeLog.created('hubspot', e.objectId);
        c.created.add(e.objectId);
        c.createdAt.set(e.objectId, e.at);
      }
      return;
    }
    if (e.kind !== 'propertyChange') return;
    const user = USER_HUBSPOT_PROPERTIES.has(e.propertyName) || e.source.changeSource === 'CRM_UI';
    if (!user) {
      // The properties set by a create arrive as changes at the creation instant: not a write.
      if (c.createdAt.get(e.objectId) === e.at) return;
      c.written.add(e.objectId);
      if (VERDICT_HUBSPOT_PROPERTY.test(e.propertyName)) c.verdicts.add(e.objectId);
    }
    this.mark(this.watched.hubspot, e.objectId, user ? 'user' : 'connector');
  }

  private onSalesforceUpdate(id: string, changes: Record<string, unknown>): void {
    const connector = CONNECTOR_ORIGIN.test(currentWriteOrigin()?.changeOrigin ?? '');
    if (connector) {
      if (Object.keys(changes).some((k) => VERDICT_SF_FIELD.test(k))) this.counters.salesforce.verdicts.add(id);
      const object = this.sb.salesforce.store.tableForId(id)?.schema.name ?? 'unknown';
      const written = this.counters.salesforce.written;
      const set = written.get(object) ?? new Set<string>();
      written.set(object, set);
      set.add(id);
    }
    this.mark(this.watched.salesforce, id, connector ? 'connector' : 'user');
  }

  phaseReport() {
    const c = this.counters;
    return {
      startedAt: c.startedAt,
      endedAt: Date.now(),
      hubspot: {
        written: c.hubspot.written.size,
        fieldSyncOnly: [...c.hubspot.written].filter((id) => !c.hubspot.verdicts.has(id)).length,
        created: c.hubspot.created.size,
        callTimes: c.hubspot.callTimes,
        statuses: Object.fromEntries(c.hubspot.statuses),
      },
      salesforce: {
        written: Object.fromEntries([...c.salesforce.written].map(([k, v]) => [k, v.size])),
        fieldSyncOnly: [...c.salesforce.written.values()].reduce((n, ids) => n + [...ids].filter((id) => !c.salesforce.verdicts.has(id)).length, 0),
        created: Object.fromEntries(c.salesforce.created),
        statuses: Object.fromEntries(c.salesforce.statuses),
      },
    };
  }

  /** Live person records per email: HubSpot contacts; Salesforce unconverted Leads and Contacts. */
  private peopleByEmail() {
    const sf = this.sb.salesforce.store;
    const contacts = this.sb.hubspot.store.all().filter((c) => !c.archived && c.mergedInto === null);
    return {
      hubspot: emailCounts(contacts.map((c) => textOf(c.props, 'email'))),
      salesforce: emailCounts([...sf.list('Lead').filter((r) => r.IsConverted !== true), ...sf.list('Contact')].map((r) => (typeof r.Email === 'string' ? r.Email : null))),
    };
  }

  /** For the duplicate checks (bench/lib/scale-out.ts): emails with several person records now, and the write log. */
  duplicates(): DuplicateReport {
    const now = this.peopleByEmail();
    return {
      people: { hubspot: crowdedEmails(this.seededPeople.hubspot, now.hubspot), salesforce: crowdedEmails(this.seededPeople.salesforce, now.salesforce) },
      writes: this.writeLog.report(),
    };
  }

  counts() {
    const sf = this.sb.salesforce.store;
    return {
      hubspotContacts: this.sb.hubspot.store.contactCount(),
      salesforceLeads: sf.count('Lead'),
      salesforceConvertedLeads: sf.list('Lead').filter((r) => r.IsConverted === true).length,
      salesforceContacts: sf.count('Contact'),
      salesforceAccounts: sf.count('Account'),
      /** Tasks the activity feed reads (calls and emails). */
      salesforceActivityTasks: sf.list('Task').filter((t) => t.TaskSubtype === 'Call' || t.TaskSubtype === 'Email' || t.Type === 'Call' || t.Type === 'Email').length,
      hubspotCompanies: this.sb.hubspot.objects.all('companies').length,
      people: this.sb.world.people.length,
    };
  }

  /**
   * People known to both CRMs as one HubSpot contact and one live, unconverted Salesforce Lead with
   * a unique email: the records whose changes the bench times. Shuffled by `seed`.
   */
  candidates(seed: number): Candidate[] {
    const sf = this.sb.salesforce.store;
    const byEmail = new Map<string, string | null>();
    for (const type of ['Lead', 'Contact']) {
      for (const r of sf.list(type)) {
        if (typeof r.Email !== 'string') continue;
        const key = r.Email.toLowerCase();
        byEmail.set(key, byEmail.has(key) || type === 'Contact' || r.IsConverted === true ? null : String(r.Id));
      }
    }
    const out: Candidate[] = [];
    for (const p of this.sb.world.people) {
      if (!p.hubspot || !p.salesforce || p.salesforce.object !== 'Lead' || p.salesforce.converted || p.salesforce.duplicateLead) continue;
      const sfId = byEmail.get(p.email.toLowerCase());
      const contact = this.sb.hubspot.store.findByEmail(p.hubspot.email, false);
      if (!sfId || !contact) continue;
      const lead = sf.get(sfId);
      if (!lead) continue;
      const num = (v: unknown) => (v === null || v === undefined || v === '' || !Number.isFinite(Number(v)) ? null : Number(v));
      out.push({
        email: p.email,
        hubspotId: contact.id,
        salesforceId: sfId,
        title: textOf(contact.props, 'jobtitle') ?? null,
        employees: num(lead.NumberOfEmployees),
        hubspotScore: num(textOf(contact.props, 'smk_score')),
        salesforceScore: num(lead.Smk_Score__c),
      });
    }
    const rand = createRandom(seed);
    for (let i = out.length - 1; i > 0; i -= 1) {
      const j = Math.floor(rand() * (i + 1));
      [out[i], out[j]] = [out[j] as Candidate, out[i] as Candidate];
    }
    return out;
  }

  watch(ids: { hubspot?: string[]; salesforce?: string[] }): void {
    this.watched.hubspot.clear();
    this.watched.salesforce.clear();
    for (const id of ids.hubspot ?? []) this.watched.hubspot.set(id, []);
    for (const id of ids.salesforce ?? []) this.watched.salesforce.set(id, []);
  }

  timelines() {
    return { hubspot: Object.fromEntries(this.watched.hubspot), salesforce: Object.fromEntries(this.watched.salesforce) };
  }
}
