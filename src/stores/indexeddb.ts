import { createStore, get, promisifyRequest, set, values, type UseStore } from 'idb-keyval';
import { type Intent, type IntentStore, intentId, isCompactable } from './store.js';

export interface IndexedDbStoreOptions {
  /**
   * Names the journal: each name is its own IndexedDB database (`durable-fetch:<name>`), so two
   * apps on one origin, or two tenants, never see each other's intents.
   * @default none: the database `durable-fetch`
   */
  name?: string;
}

const SWEEP_EVERY = 100;

/**
 * Intents in this origin's IndexedDB, through idb-keyval: they survive reloads, tab and browser
 * crashes, and are seen by every page of the origin. A resolved `put` is a committed transaction,
 * with the browser's default durability (relaxed in current browsers): handed to the OS, so only an
 * OS crash or power loss right after it could still lose it.
 */
export function indexedDbStore(options: IndexedDbStoreOptions = {}): IntentStore {
  const dbName = options.name === undefined ? 'durable-fetch' : `durable-fetch:${options.name}`;
  let useStore: UseStore | undefined;
  // Counts from the first put so every page load sweeps once: a tab rarely lives 100 puts.
  let putsUntilSweep = 0;

  // Opening is deferred to the first call so that merely creating a client (in SSR, a worker,
  // a browser with storage disabled) neither touches nor requires IndexedDB.
  const run = async <T>(what: string, op: (store: UseStore) => Promise<T>): Promise<T> => {
    try {
      if (typeof indexedDB === 'undefined') throw new Error('IndexedDB is not available here');
      return await op((useStore ??= createStore(dbName, 'intents')));
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new Error(`indexedDbStore "${dbName}" could not ${what}: ${reason}`, { cause });
    }
  };

  return {
    get: (scope, id) => run('read an intent', (store) => get<Intent>([scope, id], store)),

    async put(intent) {
      const key = [intent.scope, intentId(intent)];
      await run('write an intent', (store) => {
        if (--putsUntilSweep < 0) {
          putsUntilSweep = SWEEP_EVERY - 1;
          // Failures ignored: compaction is housekeeping, never a reason to refuse a write. Its
          // transaction is created before the put's, and IndexedDB runs overlapping readwrite
          // transactions in creation order, so the sweep is over when this put resolves and can
          // never delete the record written here.
          sweep(store).catch(() => {});
        }
        return set(key, intent, store);
      });
    },

    list: (scope) =>
      run('list intents', (store) =>
        scope === undefined
          ? values<Intent>(store)
          : // Keys are [scope, id]: every key of the scope sorts between [scope] and [scope, []]
            // (an array sorts after any string), so one range read returns just this scope.
            store('readonly', (s) => promisifyRequest(s.getAll(IDBKeyRange.bound([scope], [scope, []])))),
      ),

    async close() {
      // Only a store that was used holds a connection, and one whose database never opened has
      // nothing to release: neither is worth opening a connection or failing for.
      // Closing once this transaction has completed lets the connection go at once, so whoever
      // opens or deletes the database next is not told it is still in use.
      await useStore?.('readonly', (s) => promisifyRequest(s.transaction).then(() => s.transaction.db.close()))
        .catch(() => {});
    },
  };
}

/**
 * Deletes settled intents past their retention in one readwrite transaction, deciding each record
 * as the cursor reaches it, so a put racing the sweep is never judged by a stale copy.
 */
function sweep(store: UseStore): Promise<void> {
  const now = Date.now();
  return store('readwrite', (s) => {
    s.openCursor().onsuccess = function () {
      const cursor = this.result;
      if (!cursor) return;
      if (isCompactable(cursor.value as Intent, now)) cursor.delete();
      cursor.continue();
    };
    return promisifyRequest(s.transaction);
  });
}
