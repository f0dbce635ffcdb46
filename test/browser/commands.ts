import { dirname, relative, resolve, sep } from 'node:path';
import type {} from '@vitest/browser-playwright';
import { InterceptResolutionAction } from 'puppeteer-core';
import type { BrowserCommand, BrowserCommandContext } from 'vitest/node';
import { firefoxPageOf } from './firefox-provider.js';

type RunInFreshPage = BrowserCommand<[modulePath: string, exportName: string, ...args: unknown[]]>;

/** The URL the test server's origin gives a module path relative to the calling test file. */
function moduleUrlFor(ctx: BrowserCommandContext, origin: string, modulePath: string): string {
  if (!ctx.testPath) throw new Error('runInFreshPage must be called from a test file');
  const file = resolve(dirname(ctx.testPath), modulePath);
  return new URL(relative(ctx.project.config.root, file).split(sep).join('/'), `${origin}/`).href;
}

/** Where a fresh page goes first: routed to an inert document by the command, never to the dev server. */
const FRESH_PAGE_PATH = '/__durable-fetch-fresh-page__';
const FRESH_PAGE_HTML = '<!doctype html><title>fresh page</title>';

/**
 * Runs `exportName(...args)` from a module (a path relative to the calling test file, as in an
 * import) in a brand-new top-level page of the test server's origin, then closes that page.
 *
 * Runs in Node, where Playwright's BrowserContext is at hand: a page opened there is another
 * document with its own JavaScript realm and its own IndexedDB connections, while sharing the
 * origin's storage with the tests' iframe, exactly as a second tab or a reloaded page would.
 */
export const runInFreshPage: RunInFreshPage = async (ctx, modulePath, exportName, ...args) => {
  const origin = new URL(ctx.page.url()).origin;
  const moduleUrl = moduleUrlFor(ctx, origin, modulePath);

  // A document Playwright fulfils has no address Chromium knows, so it counts as public, and
  // Local Network Access (Chromium 142+) then fails its fetches to the loopback test server
  // unless the origin holds this permission, which headless Chromium can only be given here.
  // Granting through the DevTools protocol denies the origin every permission not named, so
  // Background Sync, which Chromium allows by default, is named too (background-recovery.test.ts).
  await ctx.context.grantPermissions(['local-network-access', 'background-sync'], { origin });
  const page = await ctx.context.newPage();
  try {
    // An inert document of our own rather than one of Vitest's pages, whose scripts would try to
    // join the test session. Routed, it never reaches the dev server, yet its origin is the
    // server's, so it sees the same IndexedDB and can import modules the server transforms.
    const blank = `${origin}${FRESH_PAGE_PATH}`;
    await page.route(blank, (route) => route.fulfill({ contentType: 'text/html', body: FRESH_PAGE_HTML }));
    await page.goto(blank);
    // A string, not a function: the config loader may rewrite a dynamic import() it compiles,
    // and this one has to reach the page's own native import() untouched.
    return await page.evaluate(
      `import(${JSON.stringify(moduleUrl)}).then((m) => m[${JSON.stringify(exportName)}](...${JSON.stringify(args)}))`,
    );
  } finally {
    await page.close();
  }
};

/**
 * runInFreshPage for Firefox (firefox-provider.ts): the same brand-new top-level page, opened
 * through puppeteer in the browser context (BiDi user context) of the tests' page, so it shares
 * the origin's IndexedDB and Web Locks with the tests' iframe.
 */
export const runInFreshFirefoxPage: RunInFreshPage = async (ctx, modulePath, exportName, ...args) => {
  const testPage = firefoxPageOf(ctx);
  if (testPage === undefined) throw new Error('runInFreshFirefoxPage needs the firefox-bidi provider');
  const origin = new URL(testPage.url()).origin;
  const moduleUrl = moduleUrlFor(ctx, origin, modulePath);

  const page = await testPage.browserContext().newPage();
  try {
    // The inert document, answered by request interception, which is then turned off so the
    // module imports go to the dev server untouched.
    const blank = `${origin}${FRESH_PAGE_PATH}`;
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      // A request reported after interception is turned off again is no longer held: left alone.
      if (request.interceptResolutionState().action === InterceptResolutionAction.Disabled) return;
      if (request.url() === blank) void request.respond({ status: 200, contentType: 'text/html', body: FRESH_PAGE_HTML });
      else void request.continue();
    });
    await page.goto(blank);
    await page.setRequestInterception(false);
    // The result crosses back as JSON text: BiDi's own serialization, as puppeteer reads it, loses
    // typed arrays, which Playwright's turns into an object of indices, as JSON does.
    const json = await page.evaluate(
      `import(${JSON.stringify(moduleUrl)}).then((m) => m[${JSON.stringify(exportName)}](...${JSON.stringify(args)})).then((result) => JSON.stringify(result))`,
    );
    return typeof json === 'string' ? JSON.parse(json) : undefined;
  } finally {
    await page.close();
  }
};
