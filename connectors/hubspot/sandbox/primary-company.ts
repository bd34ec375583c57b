/**
 * A contact's primary company and its `associatedcompanyid`, kept in step with the associations.
 *
 * - `associatedcompanyid` is read-only; associations set it: the primary contact->company
 *   association (type 1, inverse 2). [C Developer Changelog 2019-01-24, "The associatedcompanyid
 *   contact property will become read-only on April 26th": "you will need to use the CRM
 *   Associations API to make any associations"]
 * - A contact has one primary company; others are associated without the label ("you can associate
 *   the contact with both companies. You can set the employer as their primary company"). So a new
 *   primary leaves the former one associated, unlabeled. [S knowledge base "Associate records"
 *   https://knowledge.hubspot.com/records/associate-records; U: that the API demotes rather than
 *   refuses]
 * - Removing the primary association leaves the contact without a primary company (the property
 *   empty), and a change of it moves the contact's lastmodifieddate as any property change does. [U]
 */
import type { SandboxContext } from './context.js';
import type { AssociatedType } from './crm-objects.js';

/** Whether an association of `typeId` from `from` to `to` is the contact's primary company one. */
export function isPrimaryCompanyLink(from: AssociatedType, to: AssociatedType, typeId: number): boolean {
  return (from === 'contacts' && to === 'companies' && typeId === 1) || (from === 'companies' && to === 'contacts' && typeId === 2);
}

/** After associations between a contact and companies changed: one primary, and the property naming it. */
export function syncPrimaryCompany(ctx: SandboxContext, contactId: string, newPrimary: string | null = null, at = ctx.clock.now()): void {
  if (newPrimary !== null) ctx.objects.demoteOtherPrimaries(contactId, newPrimary);
  const contact = ctx.store.findById(contactId, false);
  if (!contact) return;
  ctx.store.update(contact, new Map([['associatedcompanyid', ctx.objects.primaryCompanyOf(contactId) ?? '']]), ctx.apiSource, at);
}
