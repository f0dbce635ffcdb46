import { dirname, relative, resolve, sep } from 'node:path';
import type {} from '@vitest/browser-playwright';
import type { BrowserCommand } from 'vitest/node';

/**
 * Runs `exportName(...args)` from a module (a path relative to the calling test file, as in an
 * import) in a brand-new top-level page of the test server's origin, then closes that page.
 *
 * Runs in Node, where Playwright's BrowserContext is at hand: a page opened there is another
 * document with its own JavaScript realm and its own IndexedDB connections, while sharing the
 * origin's storage with the tests' iframe, exactly as a second tab or a reloaded page would.
 */
export const runInFreshPage: BrowserCommand<[modulePath: string, exportName: string, ...args: unknown[]]> = async (
  ctx,
  modulePath,
  exportName,
  ...args
) => {
  if (!ctx.testPath) throw new Error('runInFreshPage must be called from a test file');
  const origin = new URL(ctx.page.url()).origin;
  const file = resolve(dirname(ctx.testPath), modulePath);
  const moduleUrl = new URL(relative(ctx.project.config.root, file).split(sep).join('/'), `${origin}/`).href;

  // A document Playwright fulfils has no address Chromium knows, so it counts as public, and
  // Local Network Access (Chromium 142+) then fails its fetches to the loopback test server
  // unless the origin holds this permission, which headless Chromium can only be given here.
  await ctx.context.grantPermissions(['local-network-access'], { origin });
  const page = await ctx.context.newPage();
  try {
    // An inert document of our own rather than one of Vitest's pages, whose scripts would try to
    // join the test session. Routed, it never reaches the dev server, yet its origin is the
    // server's, so it sees the same IndexedDB and can import modules the server transforms.
    const blank = `${origin}/__durable-fetch-fresh-page__`;
    await page.route(blank, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>fresh page</title>' }),
    );
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
