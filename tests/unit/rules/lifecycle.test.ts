import { describe, expect, it } from 'vitest';
import { planLifecycleWrite } from '../../../src/rules/lifecycle.js';

describe('lifecycle planning with the common stage as the current value', () => {
  it.each([
    ['mql', 'lead', { clearFirst: false, value: null }],
    ['mql', 'mql', { clearFirst: false, value: null }],
    ['mql', 'recycled', { clearFirst: true, value: 'lead' }],
    ['lead', 'mql', { clearFirst: false, value: 'marketingqualifiedlead' }],
    ['sal', 'mql', { clearFirst: false, value: null }],
  ] as const)('current %s, desired %s', (current, desired, expected) => {
    const plan = planLifecycleWrite(current, desired);
    expect(plan.clearFirst).toBe(expected.clearFirst);
    if (expected.value !== 'lead') expect(plan.value).toBe(expected.value);
    else expect(plan.value).not.toBeNull();
  });
});
