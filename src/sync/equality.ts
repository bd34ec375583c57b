/**
 * Comparison by value. Two leads that hold the same facts are equal whatever order their keys
 * were built in: zod's parse output follows the schema's order, a hand-built object follows its
 * construction, so comparing `JSON.stringify` outputs called every re-read a change (DESIGN.md,
 * Known pitfalls). A property set to `undefined` counts as absent, as it does once stored as JSON.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b))) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i += 1) if (!sameValue(a[i], other[i])) return false;
    return true;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of keys) {
    const l = left[key];
    const r = right[key];
    if (l === undefined && r === undefined) continue;
    if (!sameValue(l, r)) return false;
  }
  return true;
}
