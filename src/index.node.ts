/** durable-fetch in Node: intents default to the file journal in `.idempotency`. */
import { makeCreateClient } from './client.js';
import { fileStore } from './stores/file.js';

export * from './common.js';

export const createClient = makeCreateClient(() => fileStore('.idempotency'));
