/** durable-fetch in browsers: intents default to IndexedDB. */
import { makeCreateClient } from './client.js';
import { webCryptoSha256 } from './fingerprint.js';
import { indexedDbStore } from './stores/indexeddb.js';

export * from './common.js';

export const createClient = /* @__PURE__ */ makeCreateClient({ defaultStore: () => indexedDbStore(), sha256: webCryptoSha256 });
