/**
 * The dashboard in a real browser (Debian's chromium through playwright-core): log in with the
 * admin token, read the funnel, SLA and feedback figures a RevOps admin would read, retry a sync
 * error from its row, and keep a screenshot for a human to look at.
 * Skipped only on a developer machine without /usr/bin/chromium; in CI (CI set) it must run.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DateTime } from 'luxon';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lead } from '../../src/model/lead.js';
import { periodFunnel } from '../../src/rules/funnel.js';
import type { FunnelQuery } from '../../src/rules/periods.js';
import { ADMIN_TOKEN, startHarness } from '../server/helpers.js';
import type { ServerHarness } from '../server/helpers.js';
import { EXPECTED, OWNERS, seedDashboard } from './seed.js';

const CHROMIUM = '/usr/bin/chromium';
const TZ = 'America/New_York';
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('dashboard in a browser', () => {
  let h: ServerHarness;
  let browser: Browser;
  let page: Page;
  let errorIds: string[] = [];

  beforeAll(async () => {
    // Marketing's monthly MQL target, as an admin sets it in smarketing.yaml.
    const config = join(mkdtempSync(join(tmpdir(), 'smk-browser-')), 'smarketing.yaml');
    writeFileSync(config, `targets:\n  mqlPerMonth: 40\n  tz: ${TZ}\n`);
    h = await startHarness('browser', { server: { cacheTtlMs: 500 }, env: { SMK_CONFIG: config } });
    // The web process lists owners itself when nobody did (a `smk start --no-workers` has no workers).
    h.connectors.salesforce.owners = async () => OWNERS;
    ({ errorIds } = await seedDashboard(h.ctx, Date.now()));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  const text = async (selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();

  it('shows the login form, refuses a wrong token and lets the admin in', async () => {
    await page.goto(h.url);
    await expect.poll(() => page.locator('form.login').count()).toBe(1);
    await page.getByLabel('Admin token').fill('definitely-not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => text('[role="alert"]')).toContain('not right');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOTS}login.png` });

    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
    expect(await page.title()).toContain('dashboard');
  });

  /** The report the server computes for a query, from the same stored leads: what the page must show. */
  async function expectedFunnel(query: FunnelQuery) {
    const leads: Lead[] = [];
    for await (const page of h.ctx.leads.all()) leads.push(...page.map((stored) => stored.lead));
    return periodFunnel(leads, query, h.ctx.config.file.targets, new Date());
  }

  const barCounts = () => page.locator('#funnel-chart .bar-count').allTextContents();

  it('shows the funnel of the month under way by default, as the report computes it', async () => {
    const month = await expectedFunnel({ period: 'month' });
    expect(await text('#funnel-period')).toBe(`· ${month.label}`);
    expect(await page.getByRole('button', { name: 'Month' }).getAttribute('aria-pressed')).toBe('true');
    expect(await barCounts()).toEqual(month.steps.map((s) => String(s.count)));
    expect(await page.locator('#period-from').inputValue()).toBe(month.from);
    expect(await page.locator('#period-to').inputValue()).toBe(month.to);
  });

  it('shows a range of dates picked by the admin: every step, conversion, median days and revenue', async () => {
    const from = DateTime.now().setZone(TZ).minus({ days: 90 }).toISODate() as string;
    const to = DateTime.now().setZone(TZ).plus({ days: 60 }).toISODate() as string;
    await page.locator('#period-from').fill(from);
    await page.locator('#period-to').fill(to);
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await expect.poll(() => text('#funnel-period')).toBe(`· ${from} to ${to}`);
    expect(await page.locator('[data-period][aria-pressed="true"]').count()).toBe(0);
    for (const [stage, count] of Object.entries(EXPECTED.funnel)) {
      expect(await text(`#funnel-chart [data-value="${stage}"] .bar-count`)).toBe(String(count));
    }
    // 34 of the 48 leads became MQLs, 21 of the 34 MQLs reached SAL.
    expect(await text('#funnel-chart [data-value="lead"] .bar-note')).toBe('70.8% to MQL');
    expect(await text('#funnel-chart [data-value="mql"] .bar-note')).toMatch(/^61\.8% to SAL · [\d.]+ d$/);
    expect(await text('#funnel-chart [data-value="won"] .bar-note')).toMatch(/^[\d.]+ d$/);
    expect(await text('#revenue-pipeline')).toBe('55,000');
    expect(await text('#revenue-pipeline-n')).toBe('4 open opportunities');
    expect(await text('#revenue-won')).toBe('36,000');
    expect(await text('#revenue-won-n')).toBe('3 deals');
    await page.screenshot({ path: `${SCREENSHOTS}dashboard-funnel-range.png`, fullPage: true });
  });

  it('breaks the period down by source and by campaign, adding up to the totals', async () => {
    const column = async (index: number) => (await page.locator(`#funnel-breakdown tbody tr td:nth-of-type(${index})`).allTextContents()).reduce((sum, cell) => sum + Number(cell.replace(/,/g, '')), 0);
    expect(await page.locator('#funnel-breakdown tbody th').allTextContents()).toEqual(expect.arrayContaining(['Webinar', 'Paid search', 'Organic search', 'Partner referral']));
    expect(await column(1)).toBe(EXPECTED.funnel.lead);
    expect(await column(6)).toBe(EXPECTED.funnel.won);
    expect(await column(7)).toBe(EXPECTED.revenue.pipeline);
    expect(await column(8)).toBe(EXPECTED.revenue.won);
    await page.getByRole('button', { name: 'Campaign' }).click();
    expect(await text('#breakdown-name')).toBe('campaign');
    expect(await page.locator('#funnel-breakdown tbody th').allTextContents()).toEqual(expect.arrayContaining(['Q1 product launch', 'Brand always-on', 'Partner summit']));
    expect(await column(8)).toBe(EXPECTED.revenue.won);
  });

  it('draws the trend over the last periods, the one on screen last', async () => {
    expect(await text('#trend-span')).toBe('· last 6 ranges');
    expect(await page.locator('#trend-table tbody tr').count()).toBe(6);
    expect(await page.locator('#trend-chart g.legend').allTextContents()).toEqual(['Leads', 'MQLs', 'SQLs', 'Won']);
    // The newest period first in the table, with the funnel's own figures.
    const newest = page.locator('#trend-table tbody tr').first();
    expect(await newest.locator('td').allTextContents()).toEqual([String(EXPECTED.funnel.lead), String(EXPECTED.funnel.mql), String(EXPECTED.funnel.sql), String(EXPECTED.funnel.won), '55,000', '36,000']);
    expect(await page.locator('#trend-chart circle[data-value]').count()).toBe(24);
    // Under the chart, each range by its first day, none written over another.
    const labels = await page.$$eval('#trend-chart text[data-period]', (nodes) =>
      nodes.map((n) => {
        const box = (n as unknown as { getBBox(): { x: number; width: number } }).getBBox();
        return { text: n.textContent ?? '', from: box.x, to: box.x + box.width };
      }),
    );
    expect(labels.at(-1)?.text).toBe(DateTime.now().setZone(TZ).minus({ days: 90 }).toISODate());
    for (let i = 1; i < labels.length; i += 1) expect((labels[i]?.from ?? 0) > (labels[i - 1]?.to ?? 0), `${labels[i - 1]?.text} / ${labels[i]?.text}`).toBe(true);
  });

  it('switches to the quarter, and says why a range the wrong way round cannot be shown', async () => {
    await page.getByRole('button', { name: 'Quarter' }).click();
    const quarter = await expectedFunnel({ period: 'quarter' });
    await expect.poll(() => text('#funnel-period')).toBe(`· ${quarter.label}`);
    expect(await barCounts()).toEqual(quarter.steps.map((s) => String(s.count)));
    expect(await text('#trend-span')).toBe('· last 6 quarters');
    await page.locator('#period-from').fill('2026-04-30');
    await page.locator('#period-to').fill('2026-04-01');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await expect.poll(() => text('#period-error')).toBe('That period cannot be shown: from: from (2026-04-30) is after to (2026-04-01)');
    // Back to the month: the message goes.
    await page.getByRole('button', { name: 'Month' }).click();
    await expect.poll(() => page.locator('#period-error').isHidden()).toBe(true);
  });

  it('draws every chart inside its box: no label runs past a card', async () => {
    const overflowing = await page.$$eval('.chart svg', (svgs) =>
      svgs.flatMap((svg) => {
        // An SVG root element (no DOM types in this project's TypeScript settings).
        const root = svg as unknown as { viewBox: { baseVal: { x: number; width: number } }; getBBox(): { x: number; width: number } };
        const box = root.viewBox.baseVal;
        const drawn = root.getBBox();
        const id = svg.closest('.chart')?.id ?? '?';
        return drawn.x < box.x - 1 || drawn.x + drawn.width > box.x + box.width + 1 ? [`${id}: ${Math.round(drawn.x)}..${Math.round(drawn.x + drawn.width)} of ${box.width}`] : [];
      }),
    );
    expect(overflowing).toEqual([]);
  });

  it('shows SLA compliance, the median time to first touch and owners by name', async () => {
    expect(await text('#sla-met')).toBe(String(EXPECTED.sla.met));
    expect(await text('#sla-breached')).toBe(String(EXPECTED.sla.breached));
    expect(await text('#sla-running')).toBe(String(EXPECTED.sla.running));
    expect(await text('#sla-compliance')).toBe(EXPECTED.sla.compliance);
    expect(await text('#sla-median')).toBe(EXPECTED.sla.median);
    expect(await page.locator('#sla-owners tbody th').allTextContents()).toEqual(expect.arrayContaining(['Dana Reyes', 'Sam Okafor', 'Lee Park']));
  });

  it("shows marketing's MQL target beside the funnel, with its pace", async () => {
    const month = DateTime.now().setZone(TZ).toFormat('LLL yyyy');
    const target = await text('#mql-target');
    expect(target).toContain(`MQL target for ${month}`);
    expect(target).toMatch(/\d+ of \d+/);
    expect(target).toMatch(/on track|behind by \d+/);
  });

  it('clips no table: each shows how many rows it holds, and all of them on request', async () => {
    const owners = page.locator('#sla-owners tbody tr');
    expect(await owners.count()).toBe(10);
    expect(await page.locator('#sla-owners-more').count()).toBe(1);
    expect(await text('#sla-owners-more')).toContain('Showing 10 of 14 owners');
    await page.getByRole('button', { name: 'Show all 14 owners' }).click();
    await expect.poll(() => owners.count()).toBe(14);
    // Nothing scrolls inside a card, where rows would hide below its edge or columns past its side.
    const clipped = await page.$$eval('.table-wrap', (wraps) => wraps.filter((w) => w.scrollHeight > w.clientHeight + 1 || w.scrollWidth > w.clientWidth + 1).map((w) => w.querySelector('table')?.id ?? '?'));
    expect(clipped).toEqual([]);
    // The choice holds across the page's refresh every few seconds.
    const updated = await text('#updated');
    await expect.poll(() => text('#updated'), { timeout: 15_000 }).not.toBe(updated);
    expect(await owners.count()).toBe(14);
    await page.getByRole('button', { name: 'Show the first 10 owners' }).click();
    await expect.poll(() => owners.count()).toBe(10);
  });

  it('shows sales feedback with reject reasons', async () => {
    expect(await text('#fb-accept')).toBe('80.8%');
    expect(await text('#fb-accept-n')).toBe(`${EXPECTED.feedback.accepted} leads`);
    expect(await text('#fb-reject')).toBe('19.2%');
    expect(await text('#fb-reject-n')).toBe(`${EXPECTED.feedback.rejected} leads`);
    expect(await page.locator('#reasons-chart .bar-label').allTextContents()).toEqual(['No budget this year', 'Student, not a buyer', 'Outside our regions']);
  });

  it('shows sync health: budgets, queues and the errors by category', async () => {
    expect(await text('[data-crm="hubspot"]')).toContain('1,200 of 325,000 today');
    expect(await text('[data-crm="hubspot"]')).toMatch(/Last sync: \d+ s ago/);
    const ingestRow = page.locator('#queue-table tbody tr', { hasText: 'ingest' });
    expect(await ingestRow.locator('td').first().textContent()).toBe('5');
    expect(await text('#errors-total')).toBe('4');
    expect(await page.locator('#error-categories li').allTextContents()).toContain('hubspot · VALIDATION: 1');
  });

  it('retries an error from its row: the row goes and the lead is queued for evaluation', async () => {
    const id = errorIds[0] as string;
    const row = page.locator(`#error-table tr[data-error-id="${id}"]`);
    expect(await row.textContent()).toContain('smk_grade: Property values were not valid');
    await page.screenshot({ path: `${SCREENSHOTS}dashboard.png`, fullPage: true });
    await page.screenshot({ path: `${SCREENSHOTS}dashboard-fold.png` });

    await row.getByRole('button', { name: /Retry VALIDATION/ }).click();
    await expect.poll(() => row.count()).toBe(0);
    await expect.poll(() => text('#notice')).toContain('Retry queued');
    expect(await h.ctx.errors.get(id)).toBeNull();
    expect(await h.ctx.errors.count()).toBe(3);
    const queued = await h.ctx.queues.evaluate.getJobs(['waiting', 'prioritized', 'delayed']);
    expect(queued.map((j) => j.data)).toContainEqual(expect.objectContaining({ leadId: 'L0007' }));
    await expect.poll(() => text('#errors-total')).toBe('3');
  });

  it('filters the error table by category, and the CSV link follows', async () => {
    await page.getByRole('button', { name: 'salesforce · QUOTA_EXHAUSTED: 1' }).click();
    await expect.poll(() => page.locator('#error-table tbody tr').count()).toBe(1);
    expect(await text('#error-table tbody tr td.code')).toBe('QUOTA_EXHAUSTED');
    expect(await page.locator('#errors-csv').getAttribute('href')).toBe('/api/sync-errors.csv?crm=salesforce&code=QUOTA_EXHAUSTED');
    await page.getByRole('button', { name: 'salesforce · QUOTA_EXHAUSTED: 1' }).click();
    await expect.poll(() => page.locator('#error-table tbody tr').count()).toBe(3);
  });

  it('says, above everything, when a CRM refuses us and when the store is being rebuilt, each with what to do', async () => {
    await h.ctx.connections.set('salesforce', 'auth_failed', Date.now(), { message: 'expired access/refresh token', fix: 'connect Salesforce again: open /oauth/salesforce/start on this service' });
    await h.ctx.redis.set(h.ctx.keys.meta('rebuilding'), '2026-12-05T10:00:00.000Z');
    try {
      await page.reload();
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
      await expect.poll(() => page.locator('#banners .banner').count(), { timeout: 10_000 }).toBe(2);
      const banners = await page.locator('#banners .banner').allTextContents();
      expect(await text('[data-crm="salesforce"] .stopped')).toContain('Not syncing');
      // No OAuth app and no SMK_PUBLIC_URL here: the card says how to connect, and offers no link that cannot work.
      expect(await page.locator('[data-crm="hubspot"] a.connect').count()).toBe(0);
      expect(await text('[data-crm="hubspot"] .connected-by')).toContain('SMK_PUBLIC_URL');
      expect(banners[0]).toContain('Rebuilding since 2026-12-05T10:00:00.000Z');
      expect(banners[1]).toContain('Salesforce refuses our authorisation');
      expect(banners[1]).toContain('/oauth/salesforce/start');
      await page.screenshot({ path: `${SCREENSHOTS}dashboard-banners.png` });
      // Above the figures: the first thing an admin sees.
      const top = await page.locator('#banners').boundingBox();
      const main = await page.locator('#main').boundingBox();
      expect((top?.y ?? Infinity) < (main?.y ?? 0)).toBe(true);
    } finally {
      await h.ctx.connections.set('salesforce', 'connected', Date.now() + 61_000);
      await h.ctx.redis.del(h.ctx.keys.meta('rebuilding'));
    }
  });

  it('opens Bull Board with the same session', async () => {
    const res = await page.goto(`${h.url}/admin/queues`);
    expect(res?.status()).toBe(200);
    await page.waitForSelector('text=ingest', { timeout: 15_000 });
  });
});
