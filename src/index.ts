/**
 * durable-fetch for runtimes that are neither Node nor a browser (workers, Deno...): there is
 * no durable default here, so `createClient` needs a `store`.
 */
import { makeCreateClient } from './client.js';
import { webCryptoSha256 } from './fingerprint.js';

export * from './common.js';

export const createClient = /* @__PURE__ */ makeCreateClient({
  defaultStore() {
    throw new TypeError('durable-fetch has no durable store for this runtime: pass `store` (e.g. memoryStore(), or your own).');
  },
  sha256: webCryptoSha256,
});
