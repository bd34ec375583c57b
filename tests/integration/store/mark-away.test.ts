/**
 * The mark-away rule against a real Redis: a rep who breaches the SLA twice within a week is
 * marked away for two days (time off with source `breaches`, as the admin API shows it), the
 * count starts over, and the same breach seen again by a rerun counts once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordBreaches } from '../../../jobs/availability.js';
import type { AlertEvent } from '../../../src/rules/alerts.js';
import { isAway } from '../../../src/rules/availability.js';
import { startHarness } from '../../server/helpers.js';
import type { ServerHarness } from '../../server/helpers.js';

let h: ServerHarness;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smk-mark-away-'));
  const path = join(dir, 'smarketing.yaml');
  writeFileSync(path, ['sla:', '  escalate: { action: notify, markAway: { breaches: 2, withinDays: 7, awayDays: 2 } }', 'reps:', '  "005A": { tz: America/New_York }', ''].join('\n'));
  h = await startHarness('mark-away', { env: { SMK_CONFIG: path } });
});

afterAll(async () => {
  await h.close();
});

const breach = (leadId: string, at: string): AlertEvent => ({ kind: 'breach', leadId, at, ownerId: '005A' });

describe('marking a rep away after repeated breaches', () => {
  it('takes the second breach within the window, from the day of that breach in the rep\'s zone', async () => {
    await recordBreaches(h.ctx, [breach('L1', '2026-03-02T15:00:00.000Z')]);
    // The same breach again (an evaluation run twice) is one breach.
    await recordBreaches(h.ctx, [breach('L1', '2026-03-02T15:00:00.000Z')]);
    expect(await h.ctx.timeOff.of('005A')).toEqual([]);
    // 02:00Z on the 5th is still the 4th in New York.
    await recordBreaches(h.ctx, [breach('L2', '2026-03-05T02:00:00.000Z')]);
    expect(await h.ctx.timeOff.of('005A')).toEqual([{ from: '2026-03-04', to: '2026-03-05', reason: '2 SLA breaches within 7 days', source: 'breaches' }]);
    const stored = await h.ctx.timeOff.all({ fresh: true });
    expect(isAway(h.ctx.config.file, '005A', stored, new Date('2026-03-05T15:00:00Z'))).toBe(true);
    expect(isAway(h.ctx.config.file, '005A', stored, new Date('2026-03-06T15:00:00Z'))).toBe(false);
    const marked = (await h.ctx.events.read('0', 100)).filter((e) => e.type === 'rep_marked_away');
    expect(marked.map((e) => e.detail)).toEqual([{ ownerId: '005A', from: '2026-03-04', to: '2026-03-05', reason: '2 SLA breaches within 7 days' }]);
  });

  it('starts counting again after a mark, and forgets breaches older than the window', async () => {
    await recordBreaches(h.ctx, [breach('L3', '2026-03-06T15:00:00.000Z')]);
    await recordBreaches(h.ctx, [breach('L4', '2026-03-20T15:00:00.000Z')]);
    expect(await h.ctx.timeOff.of('005A')).toHaveLength(1);
  });
});
