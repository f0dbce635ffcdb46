/**
 * IndexedDB journals for client tests: one database per test, closed and deleted afterwards, so
 * tests neither see each other's intents nor depend on their order.
 */
import { afterEach } from 'vitest';
import { indexedDbStore } from '../../src/browser.js';
import type { Intent, IntentStore } from '../../src/index.browser.js';

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
    await Promise.all(opened.splice(0).map((store) => store.close?.()));
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

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/**
 * Every record of a journal as IndexedDB holds it, read with the bare IndexedDB API rather than
 * through the store under test.
 */
export function rawRecords(name: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(`durable-fetch:${name}`);
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const db = opening.result;
      const reading = db.transaction('intents', 'readonly').objectStore('intents').getAll();
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

/** A store that logs each call once it has resolved, to prove what happened in which order. */
export function recordingStore(
  inner: IntentStore,
  events: string[],
  onPut?: (intent: Intent) => Promise<void>,
): IntentStore {
  return {
    async get(scope, id) {
      const intent = await inner.get(scope, id);
      events.push(`get:${intent?.state ?? 'none'}`);
      return intent;
    },
    async put(intent) {
      await inner.put(intent);
      events.push(`put:${intent.state}`);
      await onPut?.(intent);
    },
    list: (scope) => inner.list(scope),
  };
}
