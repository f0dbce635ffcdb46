/**
 * The checkout example in Chromium: a purchase interrupted by a page reload is finished by the
 * next load's `recover()`, with its original key, once the reloaded page's lease on it has run
 * out, and the API applies it exactly once.
 *
 * The demo API runs in this process with every first attempt meeting its `slow` fault: the
 * purchase is applied at once and its answer held, so the test reloads the page knowing the
 * purchase was made and the page never heard of it; the recovery then meets the API's 409 "still
 * in progress" until the held answer is stored, and its replay after that.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { checkoutConfig } from '../../examples/checkout/vite.config.js';
import { type DemoApi, startDemoApi } from '../../examples/demo-api/index.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshotPath = fileURLToPath(new URL('./__screenshots__/checkout.png', import.meta.url));
const PURCHASE_PATH = '/api/v1/credit_purchases';
/** Each wait is bounded well inside the test's 30 s, so a failure says which step hung. */
const STEP_MS = 10_000;

let api: DemoApi;
let vite: ViteDevServer;
let browser: Browser;
let pageUrl: string;

beforeAll(async () => {
  api = await startDemoApi({ faultRate: 1, faults: ['slow'] });
  // No watcher and no HMR: files other people edit meanwhile must not reload the page under test.
  vite = await createServer({ configFile: false, logLevel: 'warn', ...checkoutConfig({ apiUrl: api.url, port: 0, watch: false }) });
  await vite.listen();
  const url = vite.resolvedUrls?.local[0];
  if (url === undefined) throw new Error('Vite did not report its URL');
  pageUrl = url;
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  await vite?.close();
  await api?.close();
});

/** The page has finished loading (recovery included) or purchasing: `main` is no longer busy. */
async function settled(page: Page): Promise<void> {
  await page.locator('main[aria-busy="false"]').waitFor({ timeout: STEP_MS });
}

async function statusLines(page: Page): Promise<string[]> {
  return page.locator('#log li').allInnerTexts();
}

test('a purchase interrupted by a reload is recovered and applied exactly once', async () => {
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  try {
    const page = await context.newPage();
    const sentKeys: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === PURCHASE_PATH) {
        sentKeys.push(request.headers()['idempotency-key'] ?? '(none)');
      }
    });

    await page.goto(pageUrl);
    await settled(page);
    expect(await statusLines(page)).toEqual(['No interrupted purchases.']);
    expect(await page.locator('#balance').textContent()).toBe('0');

    // Buy: the API applies the purchase at once and holds its answer (the slow fault). The page's
    // request goes out through Playwright, which drops the answer when it comes, so the reload
    // below always lands while the page is still waiting, however slow the machine.
    await page.route(`**${PURCHASE_PATH}`, (route) => void route.fetch().catch(() => {}), { times: 1 });
    await page.getByRole('button', { name: 'Buy credits' }).click();
    await vi.waitFor(() => expect(api.appliedTotal()).toBe(1), { timeout: STEP_MS, interval: 20 });
    expect(await page.locator('main').getAttribute('aria-busy')).toBe('true');
    expect(await statusLines(page)).toContainEqual(expect.stringMatching(/^Purchase [0-9a-f]{8}: attempt 1$/));

    // Reload mid-purchase: this load never learns the purchase was made.
    await page.reload();
    await settled(page);

    const lines = await statusLines(page);
    expect(lines[0]).toBe('Found 1 interrupted purchase; finishing with the original key…');
    // The page that was reloaded away still held its lease on the purchase: the new load waits it out.
    expect(lines[1]).toMatch(/^Waiting \d s for the earlier page's claim to run out…$/);
    const [key] = sentKeys;
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines).toContainEqual(`Recovered purchase ${key?.slice(0, 8)} — cp_0001, 100 credits (replayed)`);
    expect(await page.locator('#balance').textContent()).toBe('100');

    // Every request carried the one key, and the API applied it once: the replay made nothing new.
    expect(sentKeys.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sentKeys)).toEqual(new Set([key]));
    expect(api.applied(key ?? '')).toBe(1);
    expect(api.appliedTotal()).toBe(1);
    const balance = (await (await fetch(`${api.url}/v1/balance`)).json()) as { credits: number };
    expect(balance.credits).toBe(100);

    await mkdir(dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });

    // The recovery settled the intent: another tab finds nothing left to finish.
    const second = await context.newPage();
    await second.goto(pageUrl);
    await settled(second);
    expect(await statusLines(second)).toEqual(['No interrupted purchases.']);
    expect(await second.locator('#balance').textContent()).toBe('100');
    expect(api.appliedTotal()).toBe(1);
  } finally {
    await context.close();
  }
});
