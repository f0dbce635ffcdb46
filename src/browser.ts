// The browser entry: nothing here, or in what it imports, may reach for a `node:` module.
export { indexedDbStore, type IndexedDbStoreOptions } from './stores/indexeddb.js';
export { BACKGROUND_SYNC_TAG, requestBackgroundRecovery } from './background-sync.js';
