/**
 * IndexedDB journals for client tests: one database per test, closed and deleted afterwards, so
 * tests neither see each other's intents nor depend on their order.
 */
import { afterEach } from 'vitest';
import { indexedDbStore } from '../../src/browser.js';
import type { Intent, IntentStore } from '../../src/index.browser.js';
import { ownerLockName } from '../../src/stores/indexeddb.js';

export interface Journal {
  /** The store name: `indexedDbStore({ name })` anywhere on this origin opens the same journal. */
  name: string;
  /** Opens another store instance, with a connection of its own, on this journal. */
  open(): IntentStore;
}

/** Registers an afterEach that closes what the test opened and deletes its databases. */
export function useJournals(): () => Journal {
  const opened: IntentStore[] = [];
  const names: string[] = [];

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    for (const name of names.splice(0)) await deleteDatabase(`durable-fetch:${name}`);
  });

  return () => {
    const name = `client-${crypto.randomUUID()}`;
    names.push(name);
    return {
      name,
      open() {
        const store = indexedDbStore({ name });
        opened.push(store);
        return store;
      },
    };
  };
}

/**
 * Deletes an IndexedDB database. No onblocked: it also fires for connections still finishing a
 * transaction, and deletion goes on when they close; one that never closes fails the hook by its
 * timeout.
 */
export function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/**
 * Every intent of a journal as IndexedDB holds it (the records keyed `[scope, id]`, not the
 * journal's creation counter beside them), read with the bare IndexedDB API rather than through
 * the store under test.
 */
export function rawRecords(name: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(`durable-fetch:${name}`);
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const db = opening.result;
      const reading = db.transaction('intents', 'readonly').objectStore('intents').getAll(IDBKeyRange.lowerBound([]));
      reading.onerror = () => {
        db.close();
        reject(reading.error);
      };
      reading.onsuccess = () => {
        db.close();
        resolve(reading.result);
      };
    };
  });
}

/**
 * A store that logs each write once it has resolved (`create:pending`, `update:succeeded`...), to
 * prove what happened in which order; `onCreate` runs after a create that inserted.
 */
export function recordingStore(
  inner: IntentStore,
  events: string[],
  onCreate?: (intent: Intent) => Promise<void>,
): IntentStore {
  return {
    get: (scope, id) => inner.get(scope, id),
    async create(intent) {
      const existing = await inner.create(intent);
      events.push(existing === undefined ? `create:${intent.state}` : `create:found ${existing.state}`);
      if (existing === undefined) await onCreate?.(intent);
      return existing;
    },
    async update(scope, id, version, change) {
      const written = await inner.update(scope, id, version, change);
      // Lease renewals only move leaseUntil: logged as such, so the order of outcomes stays readable.
      events.push(`update:${change.state ?? 'lease'}${written === undefined ? ' refused' : ''}`);
      return written;
    },
    claim: (request) => inner.claim(request),
    list: (query) => inner.list(query),
    compact: () => inner.compact(),
    close: () => inner.close(),
  };
}

/**
 * Resolves once nothing holds `owner`'s Web Lock any more: for an owner whose page has closed, once
 * the browser has torn it down, which it finishes a few milliseconds after the close. Waits on the
 * lock itself (a request for it is granted then), never on a timer.
 */
export function whenLetGo(owner: string): Promise<void> {
  return navigator.locks.request(ownerLockName(owner), () => {});
}
