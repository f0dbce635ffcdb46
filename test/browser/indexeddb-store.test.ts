/**
 * What indexedDbStore promises beyond the IntentStore contract (indexeddb-conformance.test.ts):
 * where its journals live, that it opens nothing until used, that it asks for strict durability,
 * that it sweeps old outcomes by itself, that other pages of the origin see what it wrote, that
 * intents created within one millisecond keep their creation order, and how it sees owners with
 * Web Locks and without them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { commands } from 'vitest/browser';
import { indexedDbStore } from '../../src/browser.js';
import { createClient } from '../../src/index.browser.js';
import type { Intent, IntentStore, IntentSummary } from '../../src/stores/store.js';
import { claimRequest, makeIntent, timeless } from '../../src/testing.js';
import { deleteDatabase } from './journals.js';

const HOUR = 60 * 60 * 1000;
const opened: { name: string; store: IntentStore }[] = [];

// Every test gets journals of its own, so tests neither see each other's intents nor depend on
// their order.
function openStore(name = `test-${crypto.randomUUID()}`): IntentStore {
  const store = indexedDbStore({ name });
  opened.push({ name, store });
  return store;
}

afterEach(async () => {
  const stores = opened.splice(0);
  await Promise.all(stores.map(({ store }) => store.close()));
  for (const name of new Set(stores.map((each) => each.name))) await deleteDatabase(`durable-fetch:${name}`);
});

async function databaseNames(): Promise<string[]> {
  return (await indexedDB.databases()).flatMap((db) => (db.name ? [db.name] : []));
}

/** A pending intent journaled now, due in 24 hours. */
function intent(overrides: Partial<Intent> = {}): Intent {
  const now = Date.now();
  return makeIntent({ createdAt: now, updatedAt: now, expiresAt: now + 24 * HOUR, ...overrides });
}

describe('indexedDbStore keeps journals apart', () => {
  it('gives each store name a database of its own', async () => {
    const [first, second] = [`a-${crypto.randomUUID()}`, `b-${crypto.randomUUID()}`];
    const payout = intent();
    await openStore(first).create(payout);
    await openStore(second).create(intent({ scope: 'elsewhere' }));

    await expect(openStore(second).get(payout.scope, payout.id)).resolves.toBeUndefined();
    expect(timeless((await openStore(first).get(payout.scope, payout.id))!)).toEqual(timeless(payout));
    expect(await databaseNames()).toEqual(expect.arrayContaining([`durable-fetch:${first}`, `durable-fetch:${second}`]));
  });

  it('uses the database "durable-fetch" when given no name', async () => {
    const store = indexedDbStore();
    // A scope no other test uses: other files' clients may share this default database.
    const payout = intent({ scope: `default-${crypto.randomUUID()}` });
    try {
      await store.create(payout);
      expect(await databaseNames()).toContain('durable-fetch');
      expect((await store.list({ scope: payout.scope })).map((summary) => summary.id)).toEqual([payout.id]);
    } finally {
      await store.close();
    }
  });
});

describe('indexedDbStore is lazy and fails loudly', () => {
  it('does not open its database until first used', async () => {
    const name = `lazy-${crypto.randomUUID()}`;
    const store = openStore(name);
    await store.close();
    expect(await databaseNames()).not.toContain(`durable-fetch:${name}`);

    await openStore(name).list();
    expect(await databaseNames()).toContain(`durable-fetch:${name}`);
  });

  it('can be created where IndexedDB is missing, and then rejects calls with a clear error', async () => {
    // As on a browser with storage disabled, or in a worker without IndexedDB.
    const original = Object.getOwnPropertyDescriptor(window, 'indexedDB')!;
    Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true });
    try {
      const store = indexedDbStore({ name: 'never-opened' });
      await expect(store.create(intent())).rejects.toThrow(/could not journal an intent: IndexedDB is not available/);
      await expect(store.list()).rejects.toThrow(/IndexedDB is not available/);
      await expect(store.close()).resolves.toBeUndefined();
    } finally {
      Object.defineProperty(window, 'indexedDB', original);
    }
    expect(typeof indexedDB.open).toBe('function');
  });

  it('rejects an intent IndexedDB cannot store, and keeps no trace of it', async () => {
    const store = openStore();
    const unstorable = intent({ headers: { 'content-type': (() => 'json') as unknown as string } });

    await expect(store.create(unstorable)).rejects.toThrow(/could not journal an intent: .*could not be cloned/);
    await expect(store.list()).resolves.toEqual([]);
  });
});

describe('indexedDbStore writes with strict durability', () => {
  it('opens every write transaction with durability "strict", and reads without it', async () => {
    const transaction = vi.spyOn(IDBDatabase.prototype, 'transaction');
    try {
      const store = openStore();
      const payout = intent();
      await store.create(payout);
      await store.update(payout.scope, payout.id, 1, { attempts: 1 });
      await store.get(payout.scope, payout.id);

      const writes = transaction.mock.calls.filter(([, mode]) => mode === 'readwrite');
      expect(writes.length).toBeGreaterThanOrEqual(2);
      expect(writes.map(([, , options]) => options)).toEqual(writes.map(() => ({ durability: 'strict' })));
    } finally {
      transaction.mockRestore();
    }
  });
});

describe('indexedDbStore sweeps by itself', () => {
  // The store times a new intent by its own clock, keeping its TTL: one of less than nothing is over at once.
  const due = (state: Intent['state']) => intent({ state, createdAt: 1_000, updatedAt: 1_000, expiresAt: 999 });

  it('drops settled intents past their retention on its first create, never an unknown outcome', async () => {
    const name = `sweep-${crypto.randomUUID()}`;
    const writer = openStore(name);
    const settledAndDue = [due('succeeded'), due('failed')];
    const kept = [due('pending'), due('expired'), intent({ state: 'succeeded' }), intent()];
    for (const each of [...settledAndDue, ...kept]) await writer.create(each);
    // The writer swept at its first create, before any of these existed.
    expect(await writer.list()).toHaveLength(6);

    // A page load is the common life of a browser store: its first create sweeps.
    const nextPageLoad = openStore(name);
    const trigger = intent();
    await nextPageLoad.create(trigger);

    const ids = (intents: { id: string }[]) => intents.map((each) => each.id).sort();
    expect(ids(await nextPageLoad.list())).toEqual(ids([...kept, trigger]));
  });

  it('sweeps a long-lived store every 100 creates too', async () => {
    const store = openStore();
    await store.create(intent());
    const old = due('succeeded');
    await store.create(old);
    for (let i = 0; i < 98; i++) await store.create(intent());
    await expect(store.get(old.scope, old.id)).resolves.toBeDefined();

    await store.create(intent());

    await expect(store.get(old.scope, old.id)).resolves.toBeUndefined();
    expect(await store.list()).toHaveLength(100);
  });
});

describe('indexedDbStore is durable across connections and pages', () => {
  it('keeps intents for a new store instance with a connection of its own', async () => {
    const name = `reopen-${crypto.randomUUID()}`;
    const before = openStore(name);
    const payout = intent();
    await before.create(payout);
    await before.close();

    expect(timeless((await openStore(name).get(payout.scope, payout.id))!)).toEqual(timeless(payout));
  });

  it('finds an intent written here from a fresh page of the same origin', async () => {
    const name = `fresh-page-${crypto.randomUUID()}`;
    const payout = intent();
    await openStore(name).create(payout);

    const found = await commands.runInFreshPage<Intent>('./fresh-page-probe.ts', 'readIntent', name, payout.scope, payout.id);

    // Crossing back to the test as JSON turns bytes into an object of indices.
    expect(timeless({ ...found, body: new Uint8Array(Object.values(found.body!)) })).toEqual(timeless(payout));
  });

  it('finds here an intent written by a page that has since closed', async () => {
    const name = `closed-page-${crypto.randomUUID()}`;
    const here = openStore(name);
    // Opened before the other page writes: a connection already held sees the other's commit.
    await expect(here.list()).resolves.toEqual([]);
    const payout = intent({ body: undefined });

    await commands.runInFreshPage('./fresh-page-probe.ts', 'createIntent', name, payout);

    expect(timeless((await here.get(payout.scope, payout.id))!)).toEqual(timeless(payout));
  });
});

describe('indexedDbStore keeps creation order within a millisecond', () => {
  it('lists and claims intents created in one millisecond, through two connections, in the order they were created', async () => {
    const name = `order-${crypto.randomUUID()}`;
    const connections = [openStore(name), openStore(name)];
    // Ids that sort the other way round: key order would list them newest first.
    const intents = Array.from({ length: 12 }, (_, i) => intent({ id: `POST https://api.example.test/payouts ${String(99 - i)}` }));
    // The store's clock stands still: every intent is created in the same millisecond.
    const now = vi.spyOn(Date, 'now').mockReturnValue(Date.now());
    try {
      for (const [i, each] of intents.entries()) await connections[i % 2]!.create(each);
    } finally {
      now.mockRestore();
    }
    const ids = intents.map((each) => each.id);

    const listed = await openStore(name).list();
    expect(new Set(listed.map((summary) => summary.createdAt)).size).toBe(1);
    expect(listed.map((summary) => summary.id)).toEqual(ids);
    const claimed = await openStore(name).claim(claimRequest({ limit: 5 }));
    expect(claimed.map((each) => each.id)).toEqual(ids.slice(0, 5));
    // The sequence is the journal's own: callers never see it.
    for (const record of [...listed, ...claimed, await connections[0]!.get(intents[0]!.scope, intents[0]!.id)]) expect(Object.keys(record!)).not.toContain('seq');
  });
});

describe('indexedDbStore and Web Locks', () => {
  /** A store made while `navigator.locks` is missing, as in Safari before 15.4 or outside a secure context. */
  function storeWithoutWebLocks(name: string): IntentStore {
    Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true });
    try {
      return openStore(name);
    } finally {
      delete (navigator as { locks?: unknown }).locks;
    }
  }

  it('holds an owner\'s lock from enlist() until release()', async () => {
    const enlisted = await openStore().enlist!();
    const lockName = `durable-fetch owner ${enlisted.owner}`;
    const held = async () => ((await navigator.locks.query()).held ?? []).some((lock) => lock.name === lockName);
    expect(await held()).toBe(true);
    await enlisted.release();
    expect(await held()).toBe(false);
  });

  it('never takes the intent of an owner that enlisted after its lock query for a dead one', async () => {
    const name = `late-owner-${crypto.randomUUID()}`;
    const claimant = openStore(name);
    const gone = await claimant.enlist!();
    await gone.release();
    const ofGone = intent({ owner: gone.owner, leaseUntil: Date.now() + HOUR });
    await claimant.create(ofGone);
    // Between the claim's lock query and its transaction, another tab's client enlists and journals
    // a call: its lock is missing from the answer, yet it is alive.
    let late: Intent | undefined;
    const query = navigator.locks.query.bind(navigator.locks);
    const spy = vi.spyOn(navigator.locks, 'query').mockImplementation(async () => {
      const snapshot = await query();
      const enlisted = await openStore(name).enlist!();
      late = intent({ owner: enlisted.owner, leaseUntil: Date.now() + HOUR });
      await openStore(name).create(late);
      return snapshot;
    });
    try {
      expect((await claimant.claim(claimRequest())).map((each) => each.id)).toEqual([ofGone.id]);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
    expect(await claimant.get(late!.scope, late!.id)).toMatchObject({ owner: late!.owner, version: 1 });
  });

  it('has no enlist() without Web Locks, and leaves every owner to its lease there', async () => {
    const name = `no-locks-${crypto.randomUUID()}`;
    const withoutLocks = storeWithoutWebLocks(name);
    expect(withoutLocks.enlist).toBeUndefined();
    // An owner whose lock is gone: a store with Web Locks takes its intent at once, one without waits out its lease.
    const withLocks = openStore(name);
    const gone = await withLocks.enlist!();
    await gone.release();
    const held = intent({ owner: gone.owner, leaseUntil: Date.now() + HOUR });
    await withoutLocks.create(held);

    await expect(withoutLocks.claim(claimRequest())).resolves.toEqual([]);
    expect((await withLocks.claim(claimRequest())).map((each) => each.id)).toEqual([held.id]);
  });

  it('leaves the owners of a client without Web Locks to their lease, even where it has them', async () => {
    const name = `mixed-${crypto.randomUUID()}`;
    // A call whose request never returns: the intent stays owned, under the client's plain owner id.
    const client = createClient({ store: storeWithoutWebLocks(name), prefix: 'https://api.example.test/', fetch: () => new Promise<Response>(() => {}) });
    void client.post('v1/payouts', { json: { amount: 1 } }).catch(() => {});
    await vi.waitFor(async () => expect(await openStore(name).list()).toHaveLength(1), { interval: 10 });
    const [owned] = await openStore(name).list();
    expect(owned!.owner).toEqual(expect.any(String));
    expect(owned!.owner).not.toMatch(/^web-lock:/);

    await expect(openStore(name).claim(claimRequest({ origins: [owned!.origin], scope: owned!.scope }))).resolves.toEqual([]);
  });

  it('enlists a new owner for new work when its lock is taken from it while the client lives on', async () => {
    const name = `lost-${crypto.randomUUID()}`;
    const answers = new Map<string, () => void>();
    const client = createClient({
      store: openStore(name),
      prefix: 'https://api.example.test/',
      retry: { limit: 0 },
      // Each request hangs until the test answers it, so its intent stays owned meanwhile.
      fetch: (input) => new Promise<Response>((resolve) => answers.set(new Request(input).url, () => resolve(new Response('{}', { status: 201 })))),
    });
    const first = client.post('v1/first', { json: {} });
    await vi.waitFor(() => expect(answers.size).toBe(1), { interval: 10 });
    const [{ owner: lost, scope, origin }] = (await openStore(name).list()) as [IntentSummary];
    expect(lost).toMatch(/^web-lock:/);
    // As WebKit does to a page it keeps in its back/forward cache: the lock goes, the page lives on.
    await navigator.locks.request(`durable-fetch owner ${lost}`, { steal: true }, () => {});

    // Another tab sees the owner gone and takes its intent; this client's next call has a new owner.
    const [taken] = await openStore(name).claim(claimRequest({ scope, origins: [origin], owner: 'another-tab' }));
    expect(taken).toMatchObject({ owner: 'another-tab' });
    const second = client.post('v1/second', { json: {} });
    await vi.waitFor(() => expect(answers.size).toBe(2), { interval: 10 });
    const secondOwner = (await openStore(name).list()).find((summary) => summary.url.endsWith('/second'))!.owner;
    expect(secondOwner).toMatch(/^web-lock:/);
    expect(secondOwner).not.toBe(lost);

    // The first call's answer comes after all: its outcome is not written over the new owner's claim.
    for (const answer of answers.values()) answer();
    await Promise.all([first, second]);
    await client.flush();
    expect(await openStore(name).get(scope, taken!.id)).toMatchObject({ owner: 'another-tab', state: 'pending' });
  });
});
