/**
 * Where reps see the smk fields: the connector adds a "Smarketing" section with the score, grade,
 * reasons, stage, SLA and decision fields to every Lead and Contact page layout through the
 * Metadata API (jsforce `metadata.list`, `read`, `update` of `Layout`), reading each layout and
 * writing it back whole, so the rest of the layout stays as it was. Read back through jsforce.
 */
import type { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { connect } from '../salesforce-sandbox/helpers.js';

interface LayoutItem {
  field?: string | null;
  behavior?: string | null;
}
interface Layout {
  fullName?: string;
  layoutSections: Array<{ label?: string | null; layoutColumns: Array<{ layoutItems: LayoutItem[] }> }>;
  [key: string]: unknown;
}

const SECTION_FIELDS = [
  'Smk_Score__c', 'Smk_Grade__c', 'Smk_Score_Reasons__c', 'Smk_Likelihood__c', 'Smk_Likelihood_Reasons__c', 'Smk_Stage__c', 'Smk_Handoff_At__c',
  'Smk_SLA_Due_At__c', 'Smk_SLA_Status__c', 'Smk_Sales_Decision__c', 'Smk_Reject_Reason__c', 'Smk_Lead_Quality__c',
];

describe('the Smarketing section on the Lead and Contact page layouts', () => {
  let h: Harness;
  let conn: Connection;
  let before: { lead: Layout; contact: Layout };

  const read = async (name: string): Promise<Layout> => (await conn.metadata.read('Layout', name)) as unknown as Layout;
  const section = (layout: Layout) => layout.layoutSections.find((s) => s.label === 'Smarketing');
  const items = (layout: Layout) => layout.layoutSections.flatMap((s) => s.layoutColumns.flatMap((c) => c.layoutItems ?? []));

  beforeAll(async () => {
    h = await startHarness('sf-layouts', 10, 47);
    conn = connect(h.sandbox);
    expect((await h.connector().ensureSchema()).problems).toEqual([]);
    before = { lead: await read('Lead-Lead Layout'), contact: await read('Contact-Contact Layout') };
  }, 60_000);

  afterAll(async () => {
    await h.close();
  });

  it('shows on a dry run which layouts get which fields, and changes nothing', async () => {
    await h.resetStats();
    const report = await h.connector().ensureLayouts({ dryRun: true });
    expect(report.problems).toEqual([]);
    expect(report.changes).toEqual([
      { layout: 'Contact-Contact Layout', action: 'added', fields: SECTION_FIELDS },
      { layout: 'Lead-Lead Layout', action: 'added', fields: SECTION_FIELDS },
    ]);
    // listMetadata and one readMetadata: no update.
    expect((await h.stats()).calls).toEqual({ 'POST /services/Soap/m/62.0': 2 });
    expect(await read('Lead-Lead Layout')).toEqual(before.lead);
  });

  it('adds the section, connector fields read-only and sales fields editable, and leaves the rest of each layout as it was', async () => {
    const report = await h.connector().ensureLayouts();
    expect(report.problems).toEqual([]);
    expect(report.changes.map((c) => c.action)).toEqual(['added', 'added']);
    for (const [name, old] of [['Lead-Lead Layout', before.lead], ['Contact-Contact Layout', before.contact]] as Array<[string, Layout]>) {
      const layout = await read(name);
      const added = section(layout);
      expect(added).toBeDefined();
      const placed = (added?.layoutColumns ?? []).flatMap((c) => c.layoutItems ?? []);
      expect(placed.map((i) => i.field)).toEqual(SECTION_FIELDS);
      expect(placed.find((i) => i.field === 'Smk_Score__c')?.behavior).toBe('Readonly');
      expect(placed.find((i) => i.field === 'Smk_Sales_Decision__c')?.behavior).toBe('Edit');
      expect(layout.layoutSections.filter((s) => s.label !== 'Smarketing')).toEqual(old.layoutSections);
      const { layoutSections: _new, ...rest } = layout;
      const { layoutSections: _old, ...oldRest } = old;
      expect(rest).toEqual(oldRest);
    }
  });

  it('changes nothing the second time, and says so', async () => {
    await h.resetStats();
    const report = await h.connector().ensureLayouts();
    expect(report.changes.every((c) => c.action === 'unchanged')).toBe(true);
    expect((await h.stats()).calls).toEqual({ 'POST /services/Soap/m/62.0': 2 });
  });

  it('adds only what is missing: a field an admin moved elsewhere stays there, a removed one comes back to the section', async () => {
    const layout = await read('Lead-Lead Layout');
    // The admin moves the score up to the first section and removes the grade from the page.
    const moved = {
      ...layout,
      layoutSections: layout.layoutSections.map((s, i) => ({
        ...s,
        layoutColumns: s.layoutColumns.map((c, j) => ({
          ...c,
          layoutItems: [
            ...(i === 0 && j === 0 ? [{ field: 'Smk_Score__c', behavior: 'Readonly' }] : []),
            ...(c.layoutItems ?? []).filter((it) => (s.label === 'Smarketing' ? it.field !== 'Smk_Score__c' && it.field !== 'Smk_Grade__c' : true)),
          ],
        })),
      })),
    };
    expect(await conn.metadata.update('Layout', moved)).toMatchObject({ success: true });
    const report = await h.connector().ensureLayouts();
    expect(report.changes).toEqual([
      { layout: 'Contact-Contact Layout', action: 'unchanged', fields: [] },
      { layout: 'Lead-Lead Layout', action: 'extended', fields: ['Smk_Grade__c'] },
    ]);
    const after = await read('Lead-Lead Layout');
    expect(items(after).filter((i) => i.field === 'Smk_Score__c')).toHaveLength(1);
    expect(items(after).filter((i) => i.field === 'Smk_Grade__c')).toHaveLength(1);
    expect(after.layoutSections[0]?.layoutColumns[0]?.layoutItems[0]?.field).toBe('Smk_Score__c');
  });

  it('reports a user without the Metadata API permission as a problem with its fix', async () => {
    const rep = h.sandbox.store.list('User').find((u) => u.Username !== 'integration@smarketing-demo.example');
    const repSession = h.sandbox.auth.issueAccessToken(String(rep?.Id), null);
    const report = await h.connector({ accessToken: repSession, refreshToken: undefined }).ensureLayouts();
    expect(report.changes).toEqual([]);
    expect(report.problems).toEqual([
      expect.objectContaining({ message: expect.stringContaining('INSUFFICIENT_ACCESS'), fix: expect.stringMatching(/Modify Metadata|Modify All Data/) }),
    ]);
  });
});
