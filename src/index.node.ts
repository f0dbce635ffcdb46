/** durable-fetch in Node: intents default to the SQLite journal `.idempotency/intents.db`. */
import './runtime-guard.js';
import { createHash } from 'node:crypto';
import { makeCreateClient } from './client.js';
import { sqliteStore } from './stores/sqlite.js';

export * from './common.js';

export const createClient = makeCreateClient({
  defaultStore: () => sqliteStore(),
  sha256: (data) => createHash('sha256').update(data).digest('hex'),
});
