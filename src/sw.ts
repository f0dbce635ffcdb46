/**
 * durable-fetch in a service worker: finishes what closed pages left pending. IndexedDB is shared
 * by an origin's pages and its workers, so the worker claims from the pages' own journal, with
 * the same atomic claims: a page recovering at the same moment never sends an intent twice.
 *
 * ```ts
 * // sw.ts, registered by the page
 * import { finishPendingIntents } from 'durable-fetch/sw';
 *
 * finishPendingIntents({
 *   clientOptions: { prefix: 'https://api.example.com/v1/' },   // as the page's client, minus credentials
 *   headers: async () => ({ Authorization: `Bearer ${await currentToken()}` }),
 * });
 * ```
 *
 * The worker recovers on the Background Sync `sync` event (which the page asks for with
 * `requestBackgroundRecovery` from `durable-fetch/browser`), when it activates, and where there is
 * no Background Sync (Firefox, Safari) each time it starts, since nothing else would wake it for this.
 *
 * Pages and their worker share Web Locks as they share IndexedDB: an intent whose page closed
 * mid-call is the worker's to take at once, lease or no lease, and one a live page still works on
 * is left to it. Each pass is an owner of its own, let go when the pass ends.
 */
import { RecoveryPasses } from './auto-recover.js';
import { BACKGROUND_SYNC_TAG } from './background-sync.js';
import { createClient } from './index.browser.js';
import type { ClientOptions } from './options.js';
import type { RecoveryOutcome } from './recover.js';
import { indexedDbStore } from './stores/indexeddb.js';
import type { IntentStore } from './stores/store.js';

export { BACKGROUND_SYNC_TAG } from './background-sync.js';

export interface FinishPendingIntentsOptions {
  /**
   * The options of the page's client that decide what it may recover: `prefix`/`baseUrl` or
   * `origins`, `scope`, `store` (the same `indexedDbStore({ name })`; default `indexedDbStore()`),
   * timeouts and retries. Not credentials: those come from `headers`.
   */
  clientOptions?: Omit<ClientOptions, 'headers' | 'autoRecover'>;
  /**
   * The credentials to send with, asked for at every pass (from a cache the app keeps, a token
   * refresh...): durable-fetch never stores them, so a worker has no other way to know them.
   */
  headers?: () => HeadersInit | Promise<HeadersInit>;
  /** The Background Sync tag to answer. Default `'durable-fetch'`, as `requestBackgroundRecovery`. */
  tag?: string;
}

/** What service-worker events carry, typed here: TypeScript's DOM library has no WebWorker types. */
interface ExtendableEvent extends Event {
  waitUntil(work: Promise<unknown>): void;
}
interface SyncEvent extends ExtendableEvent {
  tag: string;
  /** The browser will not retry this sync after this attempt. */
  lastChance: boolean;
}

/**
 * Listens for the moments to recover, in the service worker's global scope; call it once, at the
 * top level of the worker's script (as its event listeners must be). Returns a function that runs
 * a pass now, for the app's own events (a `message` from a page, say).
 */
export function finishPendingIntents(options: FinishPendingIntentsOptions = {}): () => Promise<RecoveryOutcome[]> {
  const { clientOptions = {}, headers, tag = BACKGROUND_SYNC_TAG } = options;
  // One store for the worker's life: a client per pass (each with the credentials of its moment)
  // shares it, and it is never closed, so no pass opens the database again.
  const store = clientOptions.store ?? indexedDbStore();
  const passes = new RecoveryPasses(async () => {
    const client = createClient({ ...clientOptions, store: keptOpen(store), headers: await headers?.() });
    try {
      return await client.recover();
    } finally {
      // Flushes, and ends the pass's owner (its Web Lock), which would otherwise live as long as the worker.
      await client.close();
    }
  });
  const recoverNow = () => passes.run();

  addEventListener('sync', (event) => {
    const sync = event as SyncEvent;
    if (sync.tag !== tag) return;
    // A sync whose promise rejects is fired again later, with backoff: what is still pending
    // (the server unreachable again) waits for that, unless the browser says this was the last try.
    sync.waitUntil(
      recoverNow().then((outcomes) => {
        const left = outcomes.filter((outcome) => outcome.state === 'pending').length;
        if (left > 0 && !sync.lastChance) throw new Error(`durable-fetch: ${left} intent(s) still pending; sync again later.`);
      }),
    );
  });
  addEventListener('activate', (event) => (event as ExtendableEvent).waitUntil(recoverNow().catch(() => {})));
  if ((globalThis as { registration?: { sync?: unknown } }).registration?.sync === undefined) void recoverNow().catch(() => {});
  return recoverNow;
}

/** `store` as one pass's client sees it: closing that client ends its owner, never the worker's store. */
function keptOpen(store: IntentStore): IntentStore {
  return {
    get: (scope, id) => store.get(scope, id),
    create: (intent, options) => store.create(intent, options),
    update: (scope, id, version, change) => store.update(scope, id, version, change),
    claim: (request) => store.claim(request),
    list: (query) => store.list(query),
    compact: () => store.compact(),
    ...(store.enlist && { enlist: () => store.enlist!() }),
    ...(store.watch && { watch: (onChange: () => void) => store.watch!(onChange) }),
    close: async () => {},
  };
}
