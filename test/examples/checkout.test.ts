/**
 * The checkout example in Chromium, driven through Playwright (and, where Playwright has no
 * word for it, the DevTools protocol): a purchase interrupted by a reload, made offline, or left
 * pending when its tab closed is applied exactly once, with its original key.
 *
 * Each test has its own demo API and Vite server (so its own origin: its own IndexedDB and service
 * worker). The API holds the answer to every first attempt (its `slow` fault: applied at once,
 * answered 1.5 s later), so a reload always lands while the page is still waiting.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright';
import { createServer } from 'vite';
import { afterAll, beforeAll, expect, onTestFinished, test, vi } from 'vitest';
import { checkoutConfig } from '../../examples/checkout/vite.config.js';
import { type DemoApi, startDemoApi } from '../../examples/demo-api/index.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshotPath = fileURLToPath(new URL('./__screenshots__/checkout.png', import.meta.url));
const PURCHASE_PATH = '/api/v1/credit_purchases';
/** Each wait is bounded well inside the test's 30 s, so a failure says which step hung. */
const STEP_MS = 10_000;
const UUID = /^[0-9a-f-]{36}$/;

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
});

interface Checkout {
  api: DemoApi;
  pageUrl: string;
  context: BrowserContext;
  /** Keys of the purchases the pages sent, in order (service worker's apart). */
  sentByPages: string[];
  /** Keys of the purchases the service worker sent. */
  sentByWorker: string[];
}

/** A demo API, the example's dev server in front of it, and a fresh browser context; all closed when the test ends. */
async function openCheckout(contextOptions: BrowserContextOptions = {}): Promise<Checkout> {
  const api = await startDemoApi({ faultRate: 1, faults: ['slow'] });
  onTestFinished(() => api.close());
  // No watcher and no HMR: files other people edit meanwhile must not reload the page under test.
  const vite = await createServer({ configFile: false, logLevel: 'warn', ...checkoutConfig({ apiUrl: api.url, port: 0, watch: false }) });
  onTestFinished(() => vite.close());
  await vite.listen();
  const pageUrl = vite.resolvedUrls?.local[0];
  if (pageUrl === undefined) throw new Error('Vite did not report its URL');
  const context = await browser.newContext({ viewport: { width: 800, height: 600 }, ...contextOptions });
  onTestFinished(() => context.close());
  const checkout: Checkout = { api, pageUrl, context, sentByPages: [], sentByWorker: [] };
  context.on('request', (request) => {
    if (request.method() !== 'POST' || new URL(request.url()).pathname !== PURCHASE_PATH) return;
    const key = request.headers()['idempotency-key'] ?? '(none)';
    (request.serviceWorker() ? checkout.sentByWorker : checkout.sentByPages).push(key);
  });
  return checkout;
}

/** The page has finished loading (recovery included) or purchasing: `main` is no longer busy. */
async function settled(page: Page): Promise<void> {
  await page.locator('main[aria-busy="false"]').waitFor({ timeout: STEP_MS });
}

async function statusLines(page: Page): Promise<string[]> {
  return page.locator('#log li').allInnerTexts();
}

async function balance(page: Page): Promise<string | null> {
  return page.locator('#balance').textContent();
}

async function openPage({ context, pageUrl }: Checkout): Promise<Page> {
  const page = await context.newPage();
  await page.goto(pageUrl);
  await settled(page);
  return page;
}

/** Buys with the network off: the purchase fails at once, is never seen by the API, and stays pending. */
async function buyOffline({ api, context, sentByPages }: Checkout, page: Page): Promise<string> {
  await context.setOffline(true);
  await page.getByRole('button', { name: 'Buy credits' }).click();
  await settled(page);
  const [key] = sentByPages;
  expect(key).toMatch(UUID);
  const lines = await statusLines(page);
  expect(lines).toContainEqual(`Purchase ${key?.slice(0, 8)}: attempt 1`);
  expect(lines).toContainEqual(expect.stringMatching(/^Purchase failed: NetworkError: /));
  expect(lines).toContainEqual(expect.stringMatching(/^It is still journaled as pending/));
  // Offline, a network error is not retried: one attempt, and the API saw nothing.
  expect(lines.filter((line) => line.includes('retrying'))).toEqual([]);
  expect(sentByPages).toEqual([key]);
  expect(api.appliedTotal()).toBe(0);
  return key!;
}

test('a purchase interrupted by a reload is recovered and applied exactly once', async () => {
  const checkout = await openCheckout();
  const { api, context, sentByPages } = checkout;
  const page = await openPage(checkout);
  expect(await statusLines(page)).toEqual(['No interrupted purchases.']);
  expect(await balance(page)).toBe('0');

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
  // The page that was reloaded away still held its lease on the purchase, but it is gone, and its
  // Web Lock with it: the new load finishes the purchase at once, without waiting the lease out.
  expect(lines.filter((line) => line.startsWith('Waiting'))).toEqual([]);
  const [key] = sentByPages;
  expect(key).toMatch(UUID);
  const short = key?.slice(0, 8);
  expect(lines).toContainEqual(`Purchase ${short}: the server replayed its earlier answer (201)`);
  expect(lines).toContainEqual(`Recovered purchase ${short}: succeeded`);
  // The page remembered the key of the purchase it never saw answered: asked again, the journal answers.
  expect(lines.slice(-2)).toEqual([`Purchase ${short}: answered from the journal (succeeded)`, `Purchase ${short}: bought cp_0001, 100 credits (0 attempts, replayed)`]);
  expect(await balance(page)).toBe('100');

  // Every request carried the one key, and the API applied it once: the replay made nothing new.
  expect(sentByPages.length).toBeGreaterThanOrEqual(2);
  expect(new Set(sentByPages)).toEqual(new Set([key]));
  expect(api.applied(key ?? '')).toBe(1);
  expect(api.appliedTotal()).toBe(1);
  const credits = ((await (await fetch(`${api.url}/v1/balance`)).json()) as { credits: number }).credits;
  expect(credits).toBe(100);

  await mkdir(dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });

  // The recovery settled the intent: another tab finds nothing left to finish.
  const second = await openPage(checkout);
  expect(await statusLines(second)).toEqual(['No interrupted purchases.']);
  expect(await balance(second)).toBe('100');
  expect(api.appliedTotal()).toBe(1);
});

test('a purchase made offline waits in the journal and is sent once when the network is back, without a reload', async () => {
  // No service worker here: back online, it would race the page for the purchase (either would
  // send it once), and this test is about the page's own autoRecover.
  const checkout = await openCheckout({ serviceWorkers: 'block' });
  const { api, sentByPages } = checkout;
  const page = await openPage(checkout);
  let loads = 0;
  page.on('load', () => loads++);
  const key = await buyOffline(checkout, page);
  const short = key.slice(0, 8);

  // Back online: Chromium fires `online`, and autoRecover sends the purchase with its key.
  await checkout.context.setOffline(false);

  await vi.waitFor(async () => expect(await statusLines(page)).toContainEqual(`Purchase ${short}: bought cp_0001, 100 credits (0 attempts, replayed)`), {
    timeout: STEP_MS,
    interval: 50,
  });
  const lines = await statusLines(page);
  expect(lines).toContainEqual(`Purchase ${short}: attempt 2`);
  expect(lines).toContainEqual(`Recovered purchase ${short}: succeeded`);
  await vi.waitFor(async () => expect(await balance(page)).toBe('100'), { timeout: STEP_MS, interval: 50 });
  expect(loads).toBe(0);
  expect(sentByPages).toEqual([key, key]);
  expect(api.applied(key)).toBe(1);
  expect(api.appliedTotal()).toBe(1);
});

test('a purchase left pending when its tab closed is finished by the service worker once, and the next page finds it settled', async () => {
  const checkout = await openCheckout();
  const { api, context, pageUrl, sentByPages, sentByWorker } = checkout;
  const page = await openPage(checkout);
  expect(await page.evaluate(() => navigator.serviceWorker.ready.then((registration) => registration.active !== null))).toBe(true);
  const key = await buyOffline(checkout, page);
  const short = key.slice(0, 8);
  // The page asked for a Background Sync before it went idle.
  expect(await page.evaluate(() => navigator.serviceWorker.ready.then((registration) => (registration as unknown as { sync: { getTags(): Promise<string[]> } }).sync.getTags()))).toEqual(['durable-fetch']);

  // The tab closes, still offline, with the purchase pending; then the network comes back.
  await page.close();
  await context.setOffline(false);

  // Wake the worker as Background Sync does, through the DevTools protocol, from a page of another
  // origin (about:blank), so that no page of the checkout's origin runs meanwhile. (Chromium also
  // fires the sync by itself once the emulated network is back; the worker takes one at a time.)
  const outsider = await context.newPage();
  const cdp = await context.newCDPSession(outsider);
  const registrations: Array<{ registrationId: string; scopeURL: string }> = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => registrations.push(...event.registrations));
  await cdp.send('ServiceWorker.enable');
  await vi.waitFor(() => expect(registrations.find((registration) => registration.scopeURL === pageUrl)).toBeDefined(), { timeout: STEP_MS });
  const { registrationId } = registrations.find((registration) => registration.scopeURL === pageUrl)!;
  await cdp.send('ServiceWorker.dispatchSyncEvent', { origin: new URL(pageUrl).origin, registrationId, tag: 'durable-fetch', lastChance: false });

  // Done when the journal holds the outcome: read by a bare document of the origin, which runs no app code.
  const reader = await context.newPage();
  const bare = new URL('/__journal-reader__', pageUrl).href;
  await reader.route(bare, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>journal reader</title>' }));
  await reader.goto(bare);
  await vi.waitFor(async () => expect(await journalStates(reader)).toEqual(['succeeded']), { timeout: STEP_MS, interval: 50 });
  await reader.close();
  expect(sentByWorker).toEqual([key]);
  expect(sentByPages).toEqual([key]);
  expect(api.applied(key)).toBe(1);

  // The next page: nothing pending, and the purchase it remembered is answered by the journal, with no request.
  const next = await openPage(checkout);
  expect(await statusLines(next)).toEqual([
    'No interrupted purchases.',
    `Purchase ${short}: answered from the journal (succeeded)`,
    `Purchase ${short}: bought cp_0001, 100 credits (0 attempts, replayed)`,
  ]);
  expect(await balance(next)).toBe('100');
  expect(sentByPages).toEqual([key]);
  expect(sentByWorker).toEqual([key]);
  expect(api.appliedTotal()).toBe(1);
});

/**
 * The states of every intent in the origin's default journal (the records keyed `[scope, id]`, not
 * the creation counter beside them), read with the bare IndexedDB API.
 */
function journalStates(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const opening = indexedDB.open('durable-fetch');
        opening.onerror = () => reject(opening.error);
        opening.onsuccess = () => {
          const db = opening.result;
          const reading = db.transaction('intents', 'readonly').objectStore('intents').getAll(IDBKeyRange.lowerBound([]));
          reading.onsuccess = () => {
            db.close();
            resolve((reading.result as Array<{ state: string }>).map((intent) => intent.state));
          };
          reading.onerror = () => {
            db.close();
            reject(reading.error);
          };
        };
      }),
  );
}
