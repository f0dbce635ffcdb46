/** durable-fetch in Node: intents default to the SQLite journal `.idempotency/intents.db`. */
import './runtime-guard.js';
import * as nodeCrypto from 'node:crypto';
import { makeCreateClient } from './client.js';
import { sqliteStore } from './stores/sqlite.js';

export * from './common.js';

export const createClient = /* @__PURE__ */ makeCreateClient({
  defaultStore: () => sqliteStore(),
  sha256: oneShotSha256(),
});

/** crypto.hash (Node 21.7+) hashes in one call, without a Hash object per call; where a runtime lacks it, createHash does. */
function oneShotSha256(): (data: Uint8Array) => string {
  const { hash, createHash } = nodeCrypto;
  return typeof hash === 'function' ? (data) => hash('sha256', data, 'hex') : (data) => createHash('sha256').update(data).digest('hex');
}
