import { afterEach, describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { indexedDbStore } from '../../src/browser.js';
import { type Intent, type IntentStore, intentId } from '../../src/stores/store.js';

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
  await Promise.all(stores.map(({ store }) => store.close?.()));
  for (const name of new Set(stores.map((each) => each.name))) await deleteDatabase(`durable-fetch:${name}`);
});

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    // No onblocked: it also fires for connections still finishing a transaction, and deletion
    // goes on when they close. One that never closes fails the hook by its timeout.
  });
}

async function databaseNames(): Promise<string[]> {
  return (await indexedDB.databases()).flatMap((db) => (db.name ? [db.name] : []));
}

let serial = 0;
function intent(overrides: Partial<Intent> = {}): Intent {
  const createdAt = Date.now();
  return {
    scope: 'https://api.example.com',
    idempotencyKey: `key-${++serial}`,
    method: 'POST',
    url: 'https://api.example.com/v1/payouts?dry=0',
    headers: { 'content-type': 'application/json' },
    body: btoa('{"amount":500}'),
    fingerprint: 'f'.repeat(64),
    createdAt,
    updatedAt: createdAt,
    expiresAt: createdAt + 24 * HOUR,
    attempts: 0,
    state: 'pending',
    ...overrides,
  };
}

const byKey = (a: Intent, b: Intent) => a.idempotencyKey.localeCompare(b.idempotencyKey);

describe('indexedDbStore keeps intents', () => {
  it('returns what was put, by scope and identity', async () => {
    const store = openStore();
    const payout = intent({ scope: 'tenant-1' });
    const sameKeyOtherRoute = intent({ ...payout, url: 'https://api.example.com/v1/refunds' });
    const sameKeyOtherTenant = intent({ ...payout, scope: 'tenant-10' });
    for (const each of [payout, sameKeyOtherRoute, sameKeyOtherTenant]) await store.put(each);

    expect(await store.get('tenant-1', intentId(payout))).toEqual(payout);
    expect(await store.get('tenant-10', intentId(payout))).toEqual(sameKeyOtherTenant);
    expect(await store.get('tenant-1', intentId({ ...payout, idempotencyKey: 'nope' }))).toBeUndefined();
    expect((await store.list('tenant-1')).sort(byKey)).toEqual([payout, sameKeyOtherRoute].sort(byKey));
    expect(await store.list('tenant-10')).toEqual([sameKeyOtherTenant]);
    expect(await store.list('tenant')).toEqual([]);
    expect(await store.list()).toHaveLength(3);
  });

  it('keeps only the latest put of an intent', async () => {
    const store = openStore();
    const pending = intent();
    const succeeded: Intent = {
      ...pending,
      state: 'succeeded',
      attempts: 2,
      updatedAt: pending.updatedAt + 1,
      response: { status: 201, statusText: 'Created', headers: { 'content-type': 'application/json' }, body: btoa('{}') },
    };
    await store.put(pending);
    await store.put(succeeded);

    expect(await store.get(pending.scope, intentId(pending))).toEqual(succeeded);
    expect(await store.list(pending.scope)).toEqual([succeeded]);
  });

  it('hands out copies, so a caller mutating a record does not change the journal', async () => {
    const store = openStore();
    const payout = intent();
    await store.put(payout);
    payout.state = 'failed';
    const read = await store.get(payout.scope, intentId(payout));
    read!.attempts = 99;

    expect(await store.get(payout.scope, intentId(payout))).toMatchObject({ state: 'pending', attempts: 0 });
  });
});

describe('indexedDbStore keeps journals apart', () => {
  it('gives each store name a database of its own', async () => {
    const [first, second] = [`a-${crypto.randomUUID()}`, `b-${crypto.randomUUID()}`];
    const payout = intent();
    await openStore(first).put(payout);
    await openStore(second).put(intent({ scope: 'elsewhere' }));

    expect(await openStore(second).get(payout.scope, intentId(payout))).toBeUndefined();
    expect(await openStore(first).get(payout.scope, intentId(payout))).toEqual(payout);
    expect(await databaseNames()).toEqual(expect.arrayContaining([`durable-fetch:${first}`, `durable-fetch:${second}`]));
  });

  it('uses the database "durable-fetch" when given no name', async () => {
    const store = indexedDbStore();
    // A scope no other test uses: other files' clients may share this default database.
    const payout = intent({ scope: `default-${crypto.randomUUID()}` });
    try {
      await store.put(payout);
      expect(await databaseNames()).toContain('durable-fetch');
      expect(await store.list(payout.scope)).toEqual([payout]);
    } finally {
      await store.close?.();
    }
  });
});

describe('indexedDbStore is lazy and fails loudly', () => {
  it('does not open its database until first used', async () => {
    const name = `lazy-${crypto.randomUUID()}`;
    const store = openStore(name);
    expect(await databaseNames()).not.toContain(`durable-fetch:${name}`);

    await store.list();
    expect(await databaseNames()).toContain(`durable-fetch:${name}`);
  });

  it('can be created where IndexedDB is missing, and then rejects puts with a clear error', async () => {
    // As on a browser with storage disabled, or in a worker without IndexedDB.
    const original = Object.getOwnPropertyDescriptor(window, 'indexedDB')!;
    Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true });
    try {
      const store = indexedDbStore({ name: 'never-opened' });
      await expect(store.put(intent())).rejects.toThrow(/could not write an intent: IndexedDB is not available/);
      await expect(store.list()).rejects.toThrow(/IndexedDB is not available/);
    } finally {
      Object.defineProperty(window, 'indexedDB', original);
    }
    expect(typeof indexedDB.open).toBe('function');
  });

  it('rejects a put that IndexedDB refused, and keeps no trace of it', async () => {
    const store = openStore();
    const unstorable = intent({ headers: { 'content-type': (() => 'json') as unknown as string } });

    await expect(store.put(unstorable)).rejects.toThrow(/could not write an intent: .*could not be cloned/);
    expect(await store.list()).toEqual([]);
  });
});

describe('indexedDbStore compacts', () => {
  const past = Date.now() - 48 * HOUR;
  const expired = (state: Intent['state']) =>
    intent({ state, createdAt: past, updatedAt: past, expiresAt: past + 24 * HOUR });

  it('drops settled intents past their retention, and never a pending one', async () => {
    const name = `compact-${crypto.randomUUID()}`;
    const writer = openStore(name);
    const settledAndDue = [expired('succeeded'), expired('failed'), expired('expired')];
    const kept = [expired('pending'), intent({ state: 'succeeded' }), intent()];
    for (const each of [...settledAndDue, ...kept]) await writer.put(each);
    await writer.close?.();

    // A page load is the common life of a browser store: its first write sweeps.
    const nextPageLoad = openStore(name);
    const trigger = intent();
    await nextPageLoad.put(trigger);

    expect((await nextPageLoad.list()).sort(byKey)).toEqual([...kept, trigger].sort(byKey));
  });

  it('sweeps a long-lived store too, not only when it is opened', async () => {
    const store = openStore();
    await store.put(intent());
    const due = expired('succeeded');
    await store.put(due);
    for (let i = 0; i < 100; i++) await store.put(intent());

    expect(await store.get(due.scope, intentId(due))).toBeUndefined();
    expect(await store.list()).toHaveLength(101);
  });
});

describe('indexedDbStore is durable across connections and pages', () => {
  it('keeps intents for a new store instance with a connection of its own', async () => {
    const name = `reopen-${crypto.randomUUID()}`;
    const before = openStore(name);
    const payout = intent();
    await before.put(payout);
    await before.close?.();

    expect(await openStore(name).get(payout.scope, intentId(payout))).toEqual(payout);
  });

  it('finds an intent written here from a fresh page of the same origin', async () => {
    const name = `fresh-page-${crypto.randomUUID()}`;
    const payout = intent({ scope: `scope-${crypto.randomUUID()}` });
    await openStore(name).put(payout);

    const found = await commands.runInFreshPage<Intent[]>('./fresh-page-probe.ts', 'readIntents', name, payout.scope);

    expect(found).toEqual([payout]);
  });

  it('finds here an intent written by a page that has since closed', async () => {
    const name = `closed-page-${crypto.randomUUID()}`;
    const here = openStore(name);
    // Opened before the other page writes: a connection already held sees the other's commit.
    expect(await here.list()).toEqual([]);
    const payout = intent();

    await commands.runInFreshPage('./fresh-page-probe.ts', 'writeIntent', name, payout);

    expect(await here.get(payout.scope, intentId(payout))).toEqual(payout);
  });
});
