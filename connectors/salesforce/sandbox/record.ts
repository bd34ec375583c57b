/**
 * A stored value and a stored record of the Salesforce sandbox, on their own so that objects.ts
 * (field definitions) and values.ts (value conversions, which take field definitions) do not import
 * each other. values.ts re-exports both.
 */
export type SfValue = string | number | boolean | null;
/** One stored record: canonical field name to value. */
export type SfRecord = Record<string, SfValue>;
