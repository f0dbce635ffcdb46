/** durable-fetch in Node: intents default to the file journal in `.idempotency`. */
import { createHash } from 'node:crypto';
import { makeCreateClient } from './client.js';
import { fileStore } from './stores/file.js';

export * from './common.js';

export const createClient = makeCreateClient({
  defaultStore: () => fileStore('.idempotency'),
  sha256: (data) => createHash('sha256').update(data).digest('hex'),
});
