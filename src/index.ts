/**
 * durable-fetch for runtimes that are neither Node nor a browser (workers, Deno...): there is
 * no durable default here, so `createClient` needs a `store`.
 */
import { makeCreateClient } from './client.js';

export * from './common.js';

export const createClient = makeCreateClient(() => {
  throw new TypeError(
    'durable-fetch has no durable store for this runtime: pass `store` (e.g. memoryStore(), or a store of your own).',
  );
});
