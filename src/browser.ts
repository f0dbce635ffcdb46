// The browser entry: nothing here, or in what it imports, may reach for a `node:` module. It is
// also a whole entry of its own, so `import { createClient } from 'durable-fetch/browser'` works
// as `durable-fetch` does under the `browser` condition: the same client (IndexedDB by default),
// the same errors and helpers, the same classes (one module, one chunk).
export * from './index.browser.js';
export { indexedDbStore, type IndexedDbStoreOptions } from './stores/indexeddb.js';
export { BACKGROUND_SYNC_TAG, requestBackgroundRecovery } from './background-sync.js';
