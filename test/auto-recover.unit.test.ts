/**
 * autoRecover and the offline rule, outside a browser: the option is checked at creation, the
 * pass at creation happens anywhere, passes of one client never overlap, and a network failure
 * while `navigator.onLine` is false spends no retries. (The `online` and `visibilitychange`
 * triggers are exercised in Chromium: test/browser/auto-recover.test.ts.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, type IntentStore, memoryStore, NetworkError, type RecoveryOutcome } from '../src/index.js';

const PREFIX = 'https://api.test/';

afterEach(() => vi.unstubAllGlobals());

/** A fetch that fails as a dropped connection does, counting its calls. */
function unreachable() {
  const calls = { count: 0 };
  const fetch = async () => {
    calls.count++;
    throw new TypeError('fetch failed');
  };
  return { calls, fetch };
}

/** Leaves one purchase pending and released in `store`, as a page whose request was lost. */
async function leavePending(store: IntentStore): Promise<string> {
  const { fetch } = unreachable();
  const client = createClient({ prefix: PREFIX, store, fetch, retry: 0 });
  const error = await client.post('v1/purchases', { json: { item: 'lamp' } }).catch((caught: unknown) => caught);
  await client.flush();
  expect(error).toBeInstanceOf(NetworkError);
  return (await store.list())[0]!.idempotencyKey;
}

describe('autoRecover is checked at creation', () => {
  it('refuses a value that is not a boolean', () => {
    expect(() => createClient({ prefix: PREFIX, store: memoryStore(), autoRecover: 'yes' as never })).toThrow(/autoRecover must be a boolean/);
  });

  it('refuses a client that does not say where recovery may send', () => {
    expect(() => createClient({ store: memoryStore(), autoRecover: true })).toThrow(/autoRecover needs .*prefix/);
  });
});

describe('autoRecover', () => {
  it('recovers what is pending as soon as the client is created', async () => {
    const store = memoryStore();
    const key = await leavePending(store);
    const sent: string[] = [];
    let recovered!: (state: string) => void;
    const outcome = new Promise<string>((resolve) => (recovered = resolve));

    const client = createClient({
      prefix: PREFIX,
      store,
      autoRecover: true,
      fetch: async (input, init) => {
        sent.push(new Request(input, init).headers.get('idempotency-key') ?? '');
        return Response.json({ ok: true }, { status: 201 });
      },
      on: { recovery: (event) => recovered(event.state) },
    });

    expect(await outcome).toBe('succeeded');
    expect(sent).toEqual([key]);
    expect((await store.list()).map((intent) => intent.state)).toEqual(['succeeded']);
    await client.close();
  });

  it('is off by default: a client created beside a pending intent sends nothing', async () => {
    const store = memoryStore();
    await leavePending(store);
    const { calls, fetch } = unreachable();

    const client = createClient({ prefix: PREFIX, store, fetch });
    // close() waits for a recovery pass under way: there is none.
    await client.close();

    expect(calls.count).toBe(0);
  });
});

describe('recovery passes of one client', () => {
  it('never overlap: the automatic pass and two recover() calls run one after another', async () => {
    const store = memoryStore();
    let running = 0;
    let most = 0;
    const passes: Array<() => void> = [];
    // Each pass's first claim waits until the test lets it go, so overlapping passes would show.
    const gated: IntentStore = {
      ...store,
      get: (scope, id) => store.get(scope, id),
      create: (intent) => store.create(intent),
      update: (scope, id, version, change) => store.update(scope, id, version, change),
      list: (query) => store.list(query),
      compact: () => store.compact(),
      close: () => store.close(),
      async claim(request) {
        most = Math.max(most, ++running);
        await new Promise<void>((resolve) => passes.push(resolve));
        running--;
        return store.claim(request);
      },
    };
    const client = createClient({ prefix: PREFIX, store: gated, autoRecover: true });
    const explicit: Array<Promise<RecoveryOutcome[]>> = [client.recover(), client.recover()];

    for (let released = 0; released < 3; released++) {
      await vi.waitFor(() => expect(passes.length).toBe(released + 1));
      passes[released]!();
    }
    await Promise.all(explicit);
    await client.close();

    expect(most).toBe(1);
    expect(passes).toHaveLength(3);
  });
});

describe('offline', () => {
  it('a network failure while navigator.onLine is false ends the call at once, its intent pending and released', async () => {
    vi.stubGlobal('navigator', { onLine: false });
    const store = memoryStore();
    const { calls, fetch } = unreachable();
    const retries: number[] = [];
    const client = createClient({ prefix: PREFIX, store, fetch, retry: { limit: 5, delay: () => 0 }, on: { retry: (event) => retries.push(event.attempt) } });

    const startedAt = Date.now();
    await expect(client.post('v1/purchases', { json: { item: 'lamp' } })).rejects.toThrow(NetworkError);
    await client.flush();

    expect(calls.count).toBe(1);
    expect(retries).toEqual([]);
    const [intent, ...others] = await store.list();
    expect(others).toEqual([]);
    expect(intent).toMatchObject({ state: 'pending', attempts: 1, owner: null });
    expect(intent!.leaseUntil).toBeLessThanOrEqual(Date.now());
    expect(intent!.leaseUntil).toBeGreaterThanOrEqual(startedAt);
    await client.close();
  });

  it('a plain read failing while offline is not retried either', async () => {
    vi.stubGlobal('navigator', { onLine: false });
    const { calls, fetch } = unreachable();
    const client = createClient({ prefix: PREFIX, store: memoryStore(), fetch, retry: 4 });

    await expect(client.get('v1/balance')).rejects.toThrow(NetworkError);

    expect(calls.count).toBe(1);
  });

  it('online, the same failure spends the retry budget as usual', async () => {
    vi.stubGlobal('navigator', { onLine: true });
    const { calls, fetch } = unreachable();
    const client = createClient({ prefix: PREFIX, store: memoryStore(), fetch, retry: { limit: 5, delay: () => 0 } });

    await expect(client.post('v1/purchases', { json: {} })).rejects.toThrow(NetworkError);
    await client.close();

    expect(calls.count).toBe(6);
  });
});
