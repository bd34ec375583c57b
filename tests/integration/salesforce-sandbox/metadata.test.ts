/**
 * The Metadata API's page layouts as jsforce speaks it (SOAP `listMetadata`, `readMetadata`,
 * `updateMetadata` of `Layout`): a fresh org's "Lead-Lead Layout" and "Contact-Contact Layout", an
 * update that replaces the whole layout (so a client reads, changes and writes it back), per-record
 * errors for a layout that drops a required field, names a field the object does not have or
 * places one twice, and the permission the Metadata API requires.
 */
import type { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import type { SalesforceSandbox } from '../../../connectors/salesforce/sandbox/index.js';
import { generateWorld } from '../../../connectors/sandbox/seed.js';
import { connect, rejection, resetStats, stats } from './helpers.js';

interface LayoutItem {
  field?: string | null;
  behavior?: string | null;
  emptySpace?: boolean | null;
}
interface LayoutSection {
  label?: string | null;
  style: string;
  customLabel?: boolean | null;
  detailHeading?: boolean | null;
  editHeading?: boolean | null;
  layoutColumns: Array<{ layoutItems: LayoutItem[] }>;
}
interface Layout {
  fullName?: string;
  layoutSections: LayoutSection[];
  relatedLists: Array<{ relatedList?: string }>;
  [key: string]: unknown;
}

let sb: SalesforceSandbox;
let conn: Connection;

async function readLayout(name: string): Promise<Layout> {
  return (await conn.metadata.read('Layout', name)) as unknown as Layout;
}

function fields(layout: Layout): string[] {
  return layout.layoutSections.flatMap((s) => s.layoutColumns.flatMap((c) => (c.layoutItems ?? []).flatMap((i) => (i.field ? [i.field] : []))));
}

const smarketing = (items: LayoutItem[][]): LayoutSection => ({
  label: 'Smarketing',
  style: 'TwoColumnsTopToBottom',
  customLabel: true,
  detailHeading: true,
  editHeading: true,
  layoutColumns: items.map((layoutItems) => ({ layoutItems })),
});

beforeAll(async () => {
  sb = await startSalesforceSandbox({ world: generateWorld({ people: 0, seed: 3, owners: 1 }) });
  conn = connect(sb);
  await conn.tooling.sobject('CustomField').create({ FullName: 'Lead.Smk_Score__c', Metadata: { type: 'Number', label: 'Score', precision: 6, scale: 0 } });
});
afterAll(async () => {
  await sb.close();
});

describe('page layouts through the Metadata API', () => {
  it('lists the layouts of a fresh org and reads one with its sections, required fields and related lists', async () => {
    const listed = await conn.metadata.list({ type: 'Layout' });
    expect(listed.map((l) => l.fullName).sort()).toEqual(['Contact-Contact Layout', 'Lead-Lead Layout']);
    expect(listed.every((l) => l.type === 'Layout')).toBe(true);

    const lead = await readLayout('Lead-Lead Layout');
    expect(lead.fullName).toBe('Lead-Lead Layout');
    expect(lead.layoutSections[0]?.label).toBe('Lead Information');
    const items = lead.layoutSections.flatMap((s) => s.layoutColumns.flatMap((c) => c.layoutItems ?? []));
    expect(items).toEqual(expect.arrayContaining([{ behavior: 'Required', field: 'Name' }, { behavior: 'Required', field: 'Company' }, { behavior: 'Required', field: 'Status' }]));
    expect(lead.relatedLists.length).toBeGreaterThan(0);

    const missing = await readLayout('Lead-No Such Layout');
    expect(missing.fullName).toBeUndefined();
  });

  it('updates a layout read, changed and written back, and keeps everything it was sent', async () => {
    const before = await readLayout('Lead-Lead Layout');
    const changed = { ...before, layoutSections: [...before.layoutSections, smarketing([[{ behavior: 'Readonly', field: 'Smk_Score__c' }], [{ emptySpace: true }]])] };
    const saved = await conn.metadata.update('Layout', changed);
    expect(saved).toEqual({ fullName: 'Lead-Lead Layout', success: true, errors: [] });

    const after = await readLayout('Lead-Lead Layout');
    expect(after.layoutSections.at(-1)).toMatchObject({ label: 'Smarketing', style: 'TwoColumnsTopToBottom' });
    expect(fields(after)).toContain('Smk_Score__c');
    expect(after.layoutSections.slice(0, -1)).toEqual(before.layoutSections);
    const { layoutSections: _a, ...restAfter } = after;
    const { layoutSections: _b, ...restBefore } = before;
    expect(restAfter).toEqual(restBefore);
  });

  it('replaces the whole layout: what an update leaves out is gone', async () => {
    const contact = await readLayout('Contact-Contact Layout');
    expect(contact.relatedLists.length).toBeGreaterThan(0);
    const saved = await conn.metadata.update('Layout', { fullName: 'Contact-Contact Layout', layoutSections: contact.layoutSections });
    expect(saved).toMatchObject({ success: true });
    expect((await readLayout('Contact-Contact Layout')).relatedLists).toEqual([]);
  });

  it('refuses a layout without a required field, with a field the object does not have, or with a field placed twice', async () => {
    const before = await readLayout('Lead-Lead Layout');
    const withoutCompany = {
      ...before,
      layoutSections: before.layoutSections.map((s) => ({ ...s, layoutColumns: s.layoutColumns.map((c) => ({ layoutItems: (c.layoutItems ?? []).filter((i) => i.field !== 'Company') })) })),
    };
    const noCompany = await conn.metadata.update('Layout', withoutCompany);
    expect(noCompany).toMatchObject({ success: false, fullName: 'Lead-Lead Layout', errors: [{ statusCode: 'FIELD_INTEGRITY_EXCEPTION' }] });
    expect(JSON.stringify(noCompany)).toContain('Company');

    const unknown = await conn.metadata.update('Layout', { ...before, layoutSections: [...before.layoutSections, smarketing([[{ behavior: 'Edit', field: 'Smk_Nope__c' }]])] });
    expect(unknown).toMatchObject({ success: false, errors: [{ statusCode: 'FIELD_INTEGRITY_EXCEPTION' }] });
    const twice = await conn.metadata.update('Layout', { ...before, layoutSections: [...before.layoutSections, smarketing([[{ behavior: 'Readonly', field: 'Company' }]])] });
    expect(twice).toMatchObject({ success: false, errors: [{ statusCode: 'FIELD_INTEGRITY_EXCEPTION' }] });
    const nowhere = await conn.metadata.update('Layout', { ...before, fullName: 'Lead-No Such Layout' });
    expect(nowhere).toMatchObject({ success: false, errors: [{ statusCode: 'INVALID_CROSS_REFERENCE_KEY' }] });
    // Nothing of the refused updates was kept.
    expect(await readLayout('Lead-Lead Layout')).toEqual(before);
  });

  it('requires Modify All Data or Modify Metadata, and counts each call', async () => {
    const repId = sb.store.list('User').find((u) => u.Username !== 'integration@smarketing-demo.example')?.Id as string;
    const rep = connect(sb, { accessToken: sb.auth.issueAccessToken(repId, null), refreshToken: '' });
    const refused = await rejection(rep.metadata.read('Layout', 'Lead-Lead Layout'));
    expect(refused.errorCode).toBe('sf:INSUFFICIENT_ACCESS');
    expect(refused.message).toContain('ModifyAllData or ModifyMetadata');

    await resetStats(sb);
    await readLayout('Lead-Lead Layout');
    expect((await stats(sb)).calls).toEqual({ 'POST /services/Soap/m/62.0': 1 });
  });

  it('answers an expired session with the SOAP fault jsforce refreshes on', async () => {
    const refreshed: string[] = [];
    conn.on('refresh', (token: string) => refreshed.push(token));
    sb.auth.expireAllSessions();
    expect((await readLayout('Lead-Lead Layout')).fullName).toBe('Lead-Lead Layout');
    expect(refreshed).toHaveLength(1);
  });
});
