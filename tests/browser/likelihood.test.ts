/**
 * The likelihood card in a real browser (Debian's chromium through playwright-core): the published
 * model's figures against the rule score's, calibration by decile, conversion by likelihood band
 * and the versions, as the API computes them; Retrain queues a retrain job. A screenshot is kept.
 * Skipped only on a developer machine without /usr/bin/chromium; in CI (CI set) it must run.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lead } from '../../src/model/lead.js';
import { likelihoodBands } from '../../src/rules/learn/bands.js';
import { trainLikelihoodModel } from '../../src/rules/learn/model.js';
import type { LikelihoodModel } from '../../src/rules/learn/model.js';
import { NOW, outcomeWorld } from '../helpers/outcome-world.js';
import { ADMIN_TOKEN, startHarness } from '../server/helpers.js';
import type { ServerHarness } from '../server/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('the likelihood card in a browser', () => {
  let h: ServerHarness;
  let browser: Browser;
  let page: Page;
  let published: LikelihoodModel;

  beforeAll(async () => {
    h = await startHarness('browser-likelihood', { server: { cacheTtlMs: 500 } });
    const leads = outcomeWorld({ people: 800, seed: 3 });
    for (const lead of leads) await h.ctx.leads.save({ lead, views: {} });
    published = await h.ctx.models.save(trainLikelihoodModel(leads, h.ctx.config.file, { target: 'opportunity', now: NOW }));
    await h.ctx.models.publish(published.version);
    // A newer run on too few outcomes: listed, not publishable, with why.
    await h.ctx.models.save(trainLikelihoodModel(leads.slice(0, 60), h.ctx.config.file, { target: 'opportunity', now: NOW }));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(h.url);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  const text = async (selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();
  /** A table's body, row by row, each cell's text (header cell first). */
  const rows = async (table: string): Promise<string[][]> => {
    const out: string[][] = [];
    for (const tr of await page.locator(`#${table} tbody tr`).all()) out.push((await tr.locator('th, td').allTextContents()).map((t) => t.trim()));
    return out;
  };

  it("shows the published model's figures against the rule score's, with the counts", async () => {
    const e = published.evaluation;
    expect(await text('#model-version')).toBe(`· version ${published.version}`);
    expect(await text('#model-state')).toBe(`Version ${published.version} is published: its likelihood and reasons are written to both CRMs beside the rule score.`);
    expect(await text('#model-auc')).toBe((e.model.auc as number).toFixed(3));
    expect(await text('#rules-auc')).toBe((e.rules.auc as number).toFixed(3));
    expect(Number(await text('#model-auc'))).toBeGreaterThan(Number(await text('#rules-auc')));
    expect(await text('#model-tested')).toBe(String(e.test.outcomes));
    expect(await text('#model-tested-n')).toBe(`newer outcomes, ${e.test.positives} converted`);
    expect(await text('#model-trained')).toBe(String(e.train.outcomes));
    const pct = (r: number) => `${Math.round(r * 1000) / 10}%`;
    expect(await rows('calibration-table')).toEqual(e.model.calibration.map((b, i) => [String(b.decile), String(b.count), pct(b.predicted), pct(b.actual), pct(e.rules.calibration[i]!.predicted), pct(e.rules.calibration[i]!.actual)]));
  });

  it('shows conversion by likelihood band, as the API computes it', async () => {
    const leads: Lead[] = [];
    for await (const p of h.ctx.leads.all()) leads.push(...p.map((s) => s.lead));
    const bands = likelihoodBands(leads, published, new Date());
    const pct = (r: number | null) => (r === null ? '–' : `${Math.round(r * 1000) / 10}%`);
    expect(await rows('band-table')).toEqual(bands.map((b) => [b.band, b.leads.toLocaleString('en-US'), b.outcomes.toLocaleString('en-US'), b.converted.toLocaleString('en-US'), pct(b.rate)]));
  });

  it('lists the versions, the newest first, with why one cannot be published', async () => {
    const versions = await rows('model-versions');
    expect(versions.map((r) => [r[0], r[2], r[5]?.slice(0, 40)])).toEqual([
      [String(published.version + 1), 'opportunity', 'Not publishable: Too few outcomes to lea'],
      [String(published.version), 'opportunity', 'Published'],
    ]);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.locator('#model-title').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SCREENSHOTS}likelihood.png`, fullPage: true });
  });

  it('queues a retrain from the Retrain button', async () => {
    await page.getByRole('button', { name: 'Retrain' }).click();
    await expect.poll(() => text('#notice')).toBe('Retraining queued: the new version appears under Versions when it is done.');
    const jobs = await h.ctx.queues.retrain.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed']);
    expect(jobs.map((j) => j.data.reason)).toEqual(['asked from the dashboard']);
  });
});
