/** Generators of histories, delivery faults and ownership configurations for the in-process model. */
import fc from 'fast-check';
import { OWNERSHIP_POLICIES } from '../../../src/config.js';
import type { OwnershipPolicy } from '../../../src/config.js';
import type { Fault, ModelPath } from './model.js';
import { MODEL_PATHS } from './model.js';
import type { HsField, Op, SfField } from './world.js';

/** Time between operations: often none or a little (Salesforce's whole seconds then tie), sometimes more. */
const dt = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 5, arbitrary: fc.integer({ min: 1, max: 400 }) },
  { weight: 3, arbitrary: fc.integer({ min: 400, max: 2500 }) },
);

const titles = fc.constantFrom('CEO', 'VP Sales', 'Intern', '', null);
const phones = fc.constantFrom('+1 555 0100', '+1 555 0199', null);
const cities = fc.constantFrom('Berlin', 'Paris', 'Lyon', '  ', null);
const valuesOf: Record<HsField | SfField, fc.Arbitrary<string | null>> = {
  title: titles,
  phone: phones,
  city: cities,
  source: fc.constantFrom('ORGANIC_SEARCH', 'PAID_SOCIAL', null),
  domain: fc.constantFrom('example.com', 'example.org', null),
  company: fc.constantFrom('Example GmbH', 'Example Inc', '', null),
  status: fc.constantFrom('Open', 'Working', 'Qualified'),
};

const hsEdit: fc.Arbitrary<Op> = fc.constantFrom<HsField>('title', 'phone', 'city', 'source', 'domain')
  .chain((field) => fc.record({ kind: fc.constant('hsEdit' as const), dt, field: fc.constant(field), value: valuesOf[field] }));
const sfEdit: fc.Arbitrary<Op> = fc.constantFrom<SfField>('title', 'phone', 'city', 'company', 'status')
  .chain((field) => fc.record({ kind: fc.constant('sfEdit' as const), dt, field: fc.constant(field), value: valuesOf[field] }));
const crm = fc.constantFrom('hubspot' as const, 'salesforce' as const);

export function opArbitrary(options: { resets: boolean }): fc.Arbitrary<Op> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.record({ kind: fc.constant('read' as const), dt, target: fc.constantFrom('hubspot' as const, 'salesforce' as const, 'salesforce-lead' as const) }) },
    { weight: 15, arbitrary: hsEdit },
    { weight: 15, arbitrary: sfEdit },
    { weight: 10, arbitrary: fc.record({ kind: fc.constant('pageViews' as const), dt, n: fc.integer({ min: 1, max: 5 }) }) },
    { weight: 7, arbitrary: fc.record({ kind: fc.constant('echo' as const), dt, crm }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('convert' as const), dt }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('emailCase' as const), dt, crm, upper: fc.boolean() }) },
    ...(options.resets ? [{ weight: 2, arbitrary: fc.record({ kind: fc.constant('resetCounters' as const), dt }) }] : []),
  );
}

/**
 * A burst within one second: edits of one Salesforce record and reads of it, as when a rep saves
 * and a flow updates the record again at once. Salesforce stamps all of them with one second.
 */
const quick = fc.integer({ min: 0, max: 150 });
const burst: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('sfEdit' as const), dt: quick, field: fc.constant('status' as const), value: fc.constantFrom('Open', 'Working') }),
    fc.record({ kind: fc.constant('sfEdit' as const), dt: quick, field: fc.constant('title' as const), value: fc.constantFrom('CEO', 'Intern') }),
    fc.record({ kind: fc.constant('read' as const), dt: quick, target: fc.constant('salesforce' as const) }),
  ),
  { minLength: 3, maxLength: 6 },
);

export const historyArbitrary = (options: { resets: boolean; maxLength?: number }) =>
  fc.array(fc.oneof({ weight: 9, arbitrary: opArbitrary(options).map((op) => [op]) }, { weight: 1, arbitrary: burst }), { minLength: 1, maxLength: options.maxLength ?? 30 })
    .map((chunks) => chunks.flat());

/** Faults of the reads in turn; shrinks toward none (delivered once, in order). */
export const faultsArbitrary: fc.Arbitrary<Fault[]> = fc.array(
  fc.record({ delay: fc.nat({ max: 8 }), copies: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 2 }) }), copyDelay: fc.nat({ max: 8 }) }),
  { maxLength: 40 },
);

/** Either the defaults, or any policy on any of the paths the world moves. */
export const ownershipArbitrary: fc.Arbitrary<Partial<Record<ModelPath, OwnershipPolicy>>> = fc.oneof(
  fc.constant({}),
  fc.record(Object.fromEntries(MODEL_PATHS.map((p) => [p, fc.constantFrom(...OWNERSHIP_POLICIES)])) as Record<ModelPath, fc.Arbitrary<OwnershipPolicy>>, { requiredKeys: [] }),
);
