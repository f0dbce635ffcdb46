/** durable-fetch in browsers: intents default to IndexedDB. */
import { makeCreateClient } from './client.js';
import { indexedDbStore } from './stores/indexeddb.js';

export * from './common.js';

export const createClient = makeCreateClient(() => indexedDbStore());
