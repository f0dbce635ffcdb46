/**
 * indexedDbStore against the IntentStore conformance suite, in real Chromium and Firefox. Its "processes" are
 * tabs here: pages of their own on this origin, claiming from the same database at once. The
 * liveness cases run twice: with owners that enlisted and released (a client that closed), and
 * with owners enlisted by a page that has since closed, holding its owner to the end.
 */
import { createStore, get, set } from 'idb-keyval';
import { afterEach, describe } from 'vitest';
import { commands } from 'vitest/browser';
import { indexedDbStore } from '../../src/browser.js';
import type { ClaimRequest, Intent, IntentStore } from '../../src/stores/store.js';
import { describeIntentStore } from '../../src/testing.js';
import { describeLiveness } from '../../src/testing/suite/liveness.js';
import { deleteDatabase, whenLetGo } from './journals.js';

const names = new WeakMap<IntentStore, string>();
const made: string[] = [];

afterEach(async () => {
  for (const name of made.splice(0)) await deleteDatabase(`durable-fetch:${name}`);
});

function freshStore(): IntentStore {
  const name = `conformance-${crypto.randomUUID()}`;
  const store = indexedDbStore({ name });
  names.set(store, name);
  made.push(name);
  return store;
}

/** Writes a record as a newer version would, with idb-keyval alone, beside the store's connection. */
async function plantUnknown(store: IntentStore, intent: Intent): Promise<void> {
  const raw = createStore(`durable-fetch:${names.get(store)}`, 'intents');
  await set([intent.scope, intent.id], intent, raw);
  await raw('readonly', (s) => s.transaction.db.close());
}

/** Stores `intent` as created, then writes `value` into its `field` with idb-keyval alone, as another program would. */
async function plantDamaged(store: IntentStore, intent: Intent, field: string, value: unknown): Promise<void> {
  await store.create(intent);
  const raw = createStore(`durable-fetch:${names.get(store)}`, 'intents');
  const key = [intent.scope, intent.id];
  const record = await get<Record<string, unknown>>(key, raw);
  await set(key, { ...record, [field]: value }, raw);
  await raw('readonly', (s) => s.transaction.db.close());
}

/** Another tab, ready to claim from the same journal; `run` tells it to go. */
async function startClaimant(store: IntentStore, request: ClaimRequest): Promise<{ run(): Promise<string[]> }> {
  const channel = new BroadcastChannel(`claimant-${crypto.randomUUID()}`);
  const ready = new Promise<void>((resolve) => {
    channel.onmessage = (event) => event.data === 'ready' && resolve();
  });
  const claimed = commands.runInFreshPage<string[]>('./claimant-page.ts', 'claimWhenTold', names.get(store), request, channel.name);
  // A tab that failed before saying ready fails the start rather than leaving it waiting.
  await Promise.race([ready, claimed.then(() => Promise.reject(new Error('the tab finished before it was told to claim')))]);
  return {
    run() {
      channel.postMessage('go');
      return claimed.finally(() => channel.close());
    },
  };
}

describeIntentStore('indexedDbStore', freshStore, { plantUnknown, plantDamaged, processes: { count: 4, startClaimant } });

/**
 * An owner enlisted by another page, which then closed without releasing it: gone once the browser
 * has let go of that page's lock, which it does as it tears the page down, just after the close.
 */
async function closedPageOwner(store: IntentStore): Promise<string> {
  const owner = await commands.runInFreshPage<string>('./owner-page.ts', 'enlistAndClose', names.get(store));
  await whenLetGo(owner);
  return owner;
}

describe('indexedDbStore, owners in pages that closed', () => {
  describeLiveness({
    options: { deadOwner: closedPageOwner },
    withStore: (test) => async () => {
      const store = freshStore();
      try {
        await test(store);
      } finally {
        await store.close();
      }
    },
  });
});
