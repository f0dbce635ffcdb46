import { describe, expect, it } from 'vitest';
import { Lease, monotonicNow } from '../src/ownership.js';
import { memoryStore } from '../src/stores/memory.js';
import type { IntentChange, IntentStore } from '../src/stores/store.js';
import { makeIntent } from '../src/testing/intents.js';

const LEASE_MS = 30_000;
const OUTCOME: IntentChange = { state: 'succeeded', attempts: 1, owner: null, leaseMs: 0 };

/**
 * A memory store whose next update, when armed, lands and then fails as a connection lost
 * mid-commit does: the write is stored, the writer hears only an error. Records every update.
 */
function lossyStore() {
  const store = memoryStore();
  let armed = false;
  const updates: IntentChange[] = [];
  const lossy: IntentStore = {
    get: (scope, id) => store.get(scope, id),
    create: (intent) => store.create(intent),
    claim: (request) => store.claim(request),
    list: (query) => store.list(query),
    compact: () => store.compact(),
    close: () => store.close(),
    async update(scope, id, version, change) {
      updates.push(change);
      const written = await store.update(scope, id, version, change);
      if (armed && written !== undefined) {
        armed = false;
        throw new Error('Connection terminated unexpectedly');
      }
      return written;
    },
  };
  return { store: lossy, updates, loseNextAnswer: () => (armed = true) };
}

/** An owned intent in `store`, and a lease on it half gone (so `check()` renews at once). */
async function halfGoneLease(store: IntentStore) {
  const intent = makeIntent({ owner: 'owner-1', createdAt: 1_000, leaseUntil: 1_000 + LEASE_MS });
  await store.create(intent);
  return { intent, lease: new Lease(store, intent, LEASE_MS, monotonicNow() - LEASE_MS * 0.6) };
}

describe('a lease whose write landed unseen', () => {
  it('writes the outcome after a renewal that landed unseen, rather than taking the renewal for it', async () => {
    const { store, updates, loseNextAnswer } = lossyStore();
    const { intent, lease } = await halfGoneLease(store);
    loseNextAnswer();
    await expect(lease.check()).resolves.toBe('held'); // the renewal: stored, its answer lost
    await expect(lease.settle(OUTCOME)).resolves.toBe(true);
    expect(await store.get(intent.scope, intent.id)).toMatchObject({ state: 'succeeded', owner: null, attempts: 1, version: 3 });
    // The outcome's first try failed on the old version; it went again on the renewal's.
    expect(updates.map((change) => change.state ?? 'renewal')).toEqual(['renewal', 'succeeded', 'succeeded']);
  });

  it('knows its outcome landed when the next write finds it, and writes nothing after it', async () => {
    const { store, updates, loseNextAnswer } = lossyStore();
    const { intent, lease } = await halfGoneLease(store);
    loseNextAnswer();
    const finished = lease.settle(OUTCOME); // stored, its answer lost: tried again after 50 ms
    await expect(lease.check()).resolves.toBe('held'); // a renewal meanwhile finds the outcome stored
    await expect(finished).resolves.toBe(true);
    expect(await store.get(intent.scope, intent.id)).toMatchObject({ state: 'succeeded', owner: null, version: 2 });
    expect(updates.map((change) => change.state ?? 'renewal')).toEqual(['succeeded', 'renewal']);
  });

  it('stops when another owner has claimed the intent meanwhile', async () => {
    const { store, loseNextAnswer } = lossyStore();
    const { intent, lease } = await halfGoneLease(store);
    loseNextAnswer();
    await lease.check();
    // Unseen, the renewal landed at version 2; a claimant took it over at version 3.
    await store.update(intent.scope, intent.id, 2, { owner: 'owner-2', leaseMs: LEASE_MS });
    await expect(lease.settle(OUTCOME)).resolves.toBe(false);
    expect(await store.get(intent.scope, intent.id)).toMatchObject({ state: 'pending', owner: 'owner-2', version: 3 });
  });
});
