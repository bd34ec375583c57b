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
import { ADMIN_TOKEN, startHarness } from '../server/helpers.js';
import type { ServerHarness } from '../server/helpers.js';
import { EXPECTED, OWNERS, seedDashboard } from './seed.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('dashboard in a browser', () => {
  let h: ServerHarness;
  let browser: Browser;
  let page: Page;
  let errorIds: string[] = [];

  beforeAll(async () => {
    // Marketing's monthly MQL target, as an admin sets it in smarketing.yaml.
    const config = join(mkdtempSync(join(tmpdir(), 'smk-browser-')), 'smarketing.yaml');
    writeFileSync(config, 'targets:\n  mqlPerMonth: 40\n  tz: America/New_York\n');
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

  it('shows the funnel with conversion between stages', async () => {
    for (const [step, count] of Object.entries(EXPECTED.funnel)) {
      expect(await text(`#funnel-chart [data-value="${step}"] .bar-count`)).toBe(String(count));
    }
    expect(await text('#funnel-chart [data-value="mql"] .bar-note')).toBe('70.8% of Leads');
    expect(await text('#funnel-overall')).toBe('6.3%');
    expect(await page.locator('#funnel-breakdown tbody tr').count()).toBe(4);
    await page.getByRole('button', { name: 'Campaign' }).click();
    expect(await text('#funnel-breakdown tbody tr th')).toMatch(/Q1 product launch|Brand always-on|Partner summit/);
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
    const month = DateTime.now().setZone(h.ctx.config.file.targets.tz).toFormat('LLLL');
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
