import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUNDLE_BUDGET, bundleForBrowser, CLIENT_AND_INDEXEDDB } from '../support/bundle.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the browser bundle', () => {
  it(`client + indexedDbStore, minified and gzipped, stays within ${BUNDLE_BUDGET / 1024} KiB with no node: import`, async () => {
    // What an app that imports the client and the IndexedDB store ships (the error classes come
    // along: the client throws them).
    const { gzipped, inputs } = await bundleForBrowser(CLIENT_AND_INDEXEDDB, root);
    expect(inputs.some((input) => input.startsWith('node:') || input.includes('stores/sqlite'))).toBe(false);
    expect(inputs).toEqual(expect.arrayContaining([expect.stringContaining('idb-keyval'), expect.stringContaining('ky')]));
    expect(gzipped).toBeLessThanOrEqual(BUNDLE_BUDGET);
  });

  it('durable-fetch/browser as built: an app that imports indexedDbStore alone ships no client (createClient is pure)', async () => {
    // The entry exports createClient too, from the chunk it shares with indexedDbStore: only its
    // /* @__PURE__ */ mark lets a bundler leave the client out when nothing uses it.
    const alone = await bundleForBrowser("export { indexedDbStore } from './dist/browser.js';", root);
    expect(alone.parts.map(([part]) => part)).not.toContain('ky');
    expect(alone.parts.map(([part]) => part)).not.toContain('p-retry');
    expect(alone.gzipped).toBeLessThan(4 * 1024);
    const client = await bundleForBrowser("export { createClient, indexedDbStore } from './dist/browser.js';", root);
    expect(client.gzipped).toBeLessThanOrEqual(BUNDLE_BUDGET);
  });
});
