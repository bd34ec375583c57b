/** Stored leads as the engine keeps them, for store and codec tests. */
import type { StoredLead } from '../../src/store/leads.js';

const at = '2026-12-06T09:41:02.117Z';
const later = '2026-12-06T09:41:05.902Z';

/** A person known to both CRMs, as the engine stores them after a full sync (values invented). */
export function twoViewLead(n = 1): StoredLead {
  const values = {
    email: `grace.adeyemi${n}@vandelay${n}.example.com`, 'person.firstName': 'Grace', 'person.lastName': 'Adeyemi', 'person.title': 'Revenue Operations Analyst',
    'person.phone': '+1 (555) 985-0885', 'person.country': 'US', 'person.state': 'NY', 'person.city': 'New York', 'company.name': `Vandelay SA ${n}`,
    'company.domain': `vandelay${n}.example.com`, 'company.industry': 'Financial Services', 'company.employees': 783, 'company.annualRevenue': 211258881,
    'marketing.source': 'OFFLINE', 'marketing.unsubscribed': false, 'sales.ownerId': '0055g00000AbCdEAAV', 'sales.decision': null, 'sales.rejectReason': null,
    'sales.qualityRating': null, 'sales.disqualifyReason': null, 'sales.notes': null, 'sales.lastActivityAt': null,
  };
  const changedAt = Object.fromEntries(Object.keys(values).map((k) => [k, at]));
  const fields = { firstName: 'Grace', lastName: 'Adeyemi', email: values.email, title: 'Revenue Operations Analyst', phone: '+1 (555) 985-0885', mobile: null, street: null, city: 'New York', state: 'NY', postalCode: null, country: 'US', leadSource: 'OFFLINE' };
  const fieldChangedAt = Object.fromEntries(Object.keys(fields).map((k) => [k, at]));
  const sales = { ownerId: '0055g00000AbCdEAAV', decision: null, rejectReason: null, qualityRating: null, disqualifyReason: null, notes: null, lastActivityAt: null };
  return {
    lead: {
      id: `L0123456789abcdef${String(n).padStart(4, '0')}`,
      email: values.email,
      updatedAt: later,
      links: { salesforce: { object: 'Lead', id: '00Q5g00000XyZaBEAV' }, hubspot: { id: String(90000 + n) } },
      person: { firstName: 'Grace', lastName: 'Adeyemi', title: 'Revenue Operations Analyst', phone: '+1 (555) 985-0885', country: 'US', state: 'NY', city: 'New York' },
      company: { name: `Vandelay SA ${n}`, domain: `vandelay${n}.example.com`, industry: 'Financial Services', employees: 783, annualRevenue: 211258881 },
      marketing: { engagement: [{ kind: 'email_open', at, weight: 1 }, { kind: 'page_view', at: later, weight: 1 }] },
      sales,
      score: { fit: 25, engagement: 2, total: 27, grade: 'cold', reasons: ['+15 Industry: Financial Services', '+10 Company size 783 (200-1000)', '+2 engagement (2 events in 30 days)'], scoredAt: later },
      stage: { current: 'lead', history: [{ stage: 'lead', at: later, cause: 'first evaluation' }] },
      createdAt: at,
    },
    views: {
      salesforce: { ref: { object: 'Lead', id: '00Q5g00000XyZaBEAV' }, modifiedAt: at, values, changedAt, readAt: 1796550641850, fields, fieldChangedAt },
      hubspot: { ref: { object: 'contact', id: String(90000 + n) }, modifiedAt: at, values, changedAt, readAt: 1796550641912, fields, fieldChangedAt },
    },
    evaluatedSales: sales,
  } as unknown as StoredLead;
}
