import { describe, expect, it, vi } from 'vitest';
import {
  createClient,
  HTTPError,
  IdempotencyKeyExpiredError,
  memoryStore,
  type IntentStore,
} from '../src/index.js';
import { useTestServer } from './support/test-server.js';

const server = useTestServer();

// Two clients over one store stand for a process that died and the one that replaced it.
const clientOn = (store: IntentStore, process = 'first') =>
  createClient({
    prefix: server.url,
    store,
    headers: { Authorization: 'Bearer sk_tenant_1', 'X-Process': process },
    retry: { limit: 0 },
    timeout: 2_000,
  });

/** Leaves an intent pending: the server applies it, and the answer is lost. */
async function leavePending(store: IntentStore, json: unknown, idempotencyKey?: string, options: { keyTtlMs?: number } = {}) {
  server.setFaults((request) => (request.attempt === 1 ? { kind: 'drop-after' } : undefined));
  const client = createClient({ prefix: server.url, store, headers: { Authorization: 'Bearer sk_tenant_1' }, retry: { limit: 0 }, ...options });
  await expect(client.post('v1/payouts', { json, ...(idempotencyKey ? { idempotencyKey } : {}) })).rejects.toThrow();
  server.setFaults(undefined);
}

/** An intent whose key the server has forgotten by now: journaled with a 1 ms TTL. */
async function leaveExpired(store: IntentStore, json: unknown, idempotencyKey: string) {
  await leavePending(store, json, idempotencyKey, { keyTtlMs: 1 });
  await vi.waitFor(async () => expect((await store.list())[0]!.expiresAt).toBeLessThan(Date.now()));
}

describe('pending()', () => {
  it('lists unsettled intents oldest first, with key, method, url, createdAt, attempts and state', async () => {
    const store = memoryStore();
    await leavePending(store, { n: 1 }, 'first');
    await leavePending(store, { n: 2 }, 'second');
    await clientOn(store).post('v1/payouts', { json: { n: 3 } });
    const pending = await clientOn(store).pending();
    expect(pending.map((intent) => intent.idempotencyKey)).toEqual(['first', 'second']);
    expect(pending[0]).toMatchObject({ method: 'POST', url: `${server.url}/v1/payouts`, attempts: 1, state: 'pending', createdAt: expect.any(Number) });
  });
});

describe('recover()', () => {
  it('resends with the original key and body and the client’s current headers, and gets the replay', async () => {
    const store = memoryStore();
    await leavePending(store, { amount: 500 }, 'payout-7');
    expect(server.applied('payout-7')).toBe(1);

    const outcomes = await clientOn(store, 'second').recover();
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ idempotencyKey: 'payout-7', state: 'succeeded' });
    expect(outcomes[0]?.response?.replayed).toBe(true);
    expect(await outcomes[0]?.response?.json()).toMatchObject({ received: { amount: 500 } });

    const resent = server.requests.at(-1);
    expect(resent).toMatchObject({ key: 'payout-7', body: '{"amount":500}', tenant: 'Bearer sk_tenant_1' });
    expect(resent?.headers['content-type']).toBe('application/json');
    expect(resent?.headers['x-process']).toBe('second');
    expect(server.applied('payout-7')).toBe(1);
  });

  it('finds nothing the second time', async () => {
    const store = memoryStore();
    await leavePending(store, { amount: 1 });
    expect(await clientOn(store).recover()).toHaveLength(1);
    expect(await clientOn(store).recover()).toEqual([]);
    expect(await clientOn(store).pending()).toEqual([]);
  });

  it('resends oldest first', async () => {
    const store = memoryStore();
    for (const key of ['a', 'b', 'c']) await leavePending(store, { key }, key);
    server.reset();
    await clientOn(store).recover();
    expect(server.requests.map((request) => request.key)).toEqual(['a', 'b', 'c']);
  });

  it('reports failed and still-pending outcomes with their errors', async () => {
    const store = memoryStore();
    await leavePending(store, { n: 1 }, 'will-fail');
    await leavePending(store, { n: 2 }, 'still-down');
    // A final 4xx: the server refuses for good; a 5xx: it may work later.
    server.setFaults((request) =>
      request.key === 'will-fail' ? { kind: 'status', status: 403 } : { kind: 'status', status: 503 },
    );
    const outcomes = await clientOn(store).recover();
    expect(outcomes.map((outcome) => [outcome.idempotencyKey, outcome.state])).toEqual([
      ['will-fail', 'failed'],
      ['still-down', 'pending'],
    ]);
    expect((outcomes[0]?.error as HTTPError).response.status).toBe(403);
    expect((outcomes[1]?.error as HTTPError).response.status).toBe(503);
    expect((await clientOn(store).pending()).map((intent) => intent.idempotencyKey)).toEqual(['still-down']);
  });

  it('does not resend an intent older than keyTtlMs: it is expired, with IdempotencyKeyExpiredError', async () => {
    const store = memoryStore();
    await leaveExpired(store, { amount: 9 }, 'old-payout');
    server.reset();

    const outcomes = await clientOn(store).recover();
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.state).toBe('expired');
    expect(outcomes[0]?.error).toBeInstanceOf(IdempotencyKeyExpiredError);
    expect((outcomes[0]?.error as IdempotencyKeyExpiredError).idempotencyKey).toBe('old-payout');
    expect(server.requests).toHaveLength(0);
    expect(await clientOn(store).recover()).toEqual([]);
  });

  it('resends an expired intent when asked to with resendExpired', async () => {
    const store = memoryStore();
    await leaveExpired(store, { amount: 9 }, 'old-payout');

    const outcomes = await clientOn(store).recover({ resendExpired: true });
    expect(outcomes.map((outcome) => outcome.state)).toEqual(['succeeded']);
    expect(server.requests.at(-1)?.key).toBe('old-payout');
  });

  it('a call with the key of an expired pending intent is refused too', async () => {
    const store = memoryStore();
    await leaveExpired(store, { amount: 9 }, 'old-payout');
    server.reset();
    await expect(clientOn(store).post('v1/payouts', { json: { amount: 9 }, idempotencyKey: 'old-payout' })).rejects.toBeInstanceOf(IdempotencyKeyExpiredError);
    expect(server.requests).toHaveLength(0);
  });

  it('a client that never said where it sends cannot recover: TypeError, nothing sent', async () => {
    const store = memoryStore();
    await leavePending(store, { n: 1 }, 'p');
    server.reset();
    const unplaced = createClient({ store, retry: { limit: 0 } });
    await expect(unplaced.recover()).rejects.toThrow(/prefix.*baseUrl.*origins/);
    expect(server.requests).toHaveLength(0);
    expect((await unplaced.pending()).map((intent) => intent.idempotencyKey)).toEqual(['p']);
  });

  it('an intent for an origin outside `origins` is reported skipped, never sent', async () => {
    const store = memoryStore();
    await leavePending(store, { n: 1 }, 'for-the-test-server');
    server.reset();
    const recovered: string[] = [];
    const elsewhere = createClient({ prefix: 'https://other-api.example', store, on: { recovery: (event) => void recovered.push(event.state) } });
    const outcomes = await elsewhere.recover();
    expect(outcomes.map((outcome) => [outcome.idempotencyKey, outcome.state])).toEqual([['for-the-test-server', 'skipped']]);
    expect(recovered).toEqual(['skipped']);
    expect(server.requests).toHaveLength(0);
    expect((await clientOn(store).recover()).map((outcome) => outcome.state)).toEqual(['succeeded']);
  });

  it('recovers only the client’s scope', async () => {
    const store = memoryStore();
    await leavePending(store, { n: 1 }, 'mine');
    const other = createClient({ prefix: server.url, store, scope: 'tenant-other', retry: { limit: 0 } });
    expect(await other.pending()).toEqual([]);
    expect(await other.recover()).toEqual([]);
    expect((await clientOn(store).pending()).map((intent) => intent.idempotencyKey)).toEqual(['mine']);
  });
});

describe('recover() over many intents: concurrency, progress, a stop, and each intent bounded by totalTimeout', () => {
  it('sends several at once, reports progress with done and total, and keeps claim order in its outcomes', async () => {
    const store = memoryStore();
    for (let n = 1; n <= 6; n++) await leavePending(store, { n }, `payout-${n}`);
    server.reset();
    server.setFaults(() => ({ kind: 'slow', ms: 200 }));
    const progress: Array<[number, number]> = [];
    const outcomes = await clientOn(store).recover({ concurrency: 3, onProgress: ({ done, total }) => void progress.push([done, total]) });
    expect(outcomes.map(({ idempotencyKey, state }) => [idempotencyKey, state])).toEqual(
      Array.from({ length: 6 }, (_, i) => [`payout-${i + 1}`, 'succeeded']),
    );
    expect(progress).toEqual(Array.from({ length: 6 }, (_, i) => [i + 1, 6]));
    // Three at a time: the server held three requests open together, never more.
    expect(server.maxConcurrent()).toBe(3);
  });

  it('recovers a backlog of 400 eight at a time, each sent once (how much faster: npm run bench)', async () => {
    const store = memoryStore();
    const api = createClient({ prefix: server.url, store });
    for (let n = 0; n < 400; n++) await api.enqueue('POST', 'v1/payouts', { json: { n }, idempotencyKey: `backlog-${n}` });
    server.setFaults(() => ({ kind: 'slow', ms: 5 }));
    const outcomes = await api.recover({ concurrency: 8 });
    expect(outcomes.map((outcome) => outcome.state)).toEqual(Array.from({ length: 400 }, () => 'succeeded'));
    expect(server.maxConcurrent()).toBe(8);
    expect(server.requests).toHaveLength(400);
    for (let n = 0; n < 400; n++) expect(server.applied(`backlog-${n}`)).toBe(1);
  });

  it('bounds each intent by totalTimeout against a server that never answers, leaving it pending', async () => {
    const store = memoryStore();
    for (let n = 1; n <= 4; n++) await leavePending(store, { n }, `hung-${n}`);
    server.reset();
    server.setFaults(() => ({ kind: 'slow', ms: 60_000 }));
    const api = createClient({ prefix: server.url, store, retry: { limit: 0 }, timeout: false, totalTimeout: 300 });
    const outcomes = await api.recover({ concurrency: 2 });
    expect(outcomes.map((outcome) => [outcome.state, (outcome.error as Error).name])).toEqual(Array.from({ length: 4 }, () => ['pending', 'TimeoutError']));
    expect((await api.pending()).map((intent) => intent.idempotencyKey)).toEqual(['hung-1', 'hung-2', 'hung-3', 'hung-4']);
  });

  it('stops when its signal aborts: what is in flight is released, pending, and nothing more is claimed', async () => {
    const store = memoryStore();
    for (let n = 1; n <= 5; n++) await leavePending(store, { n }, `stopped-${n}`);
    server.reset();
    server.setFaults(() => ({ kind: 'slow', ms: 60_000 }));
    const stop = new AbortController();
    const api = createClient({ prefix: server.url, store, retry: { limit: 0 }, timeout: false });
    const recovering = api.recover({ concurrency: 2, signal: stop.signal });
    await server.waitForRequests(2);
    stop.abort();
    const outcomes = await recovering;
    expect(outcomes.map((outcome) => outcome.state)).toEqual(['pending', 'pending']);
    expect(server.requests).toHaveLength(2);
    // Released at once: the next pass takes them all (the server forgets the two it still holds).
    server.reset();
    server.setFaults(undefined);
    expect((await api.recover()).map((outcome) => outcome.state)).toEqual(Array.from({ length: 5 }, () => 'succeeded'));
  });
});

describe('relay()', () => {
  it('goes on when its store cannot enlist it at first (the store down as the relay starts), and relays once it can', async () => {
    const store = memoryStore();
    await leavePending(store, { n: 1 }, 'after-outage');
    server.reset();
    let refusals = 1;
    const flaky: IntentStore = {
      get: (scope, id) => store.get(scope, id),
      create: (intent, options) => store.create(intent, options),
      update: (scope, id, version, change) => store.update(scope, id, version, change),
      list: (query) => store.list(query),
      compact: () => store.compact(),
      close: () => store.close(),
      claim: (request) => store.claim(request),
      enlist: async () => {
        if (refusals-- > 0) throw new Error('Socket closed unexpectedly');
        return store.enlist!();
      },
    };
    const stop = new AbortController();
    const relaying = createClient({ prefix: server.url, store: flaky }).relay({ signal: stop.signal, pollMs: 20 });
    await server.waitForRequests(1);
    stop.abort();
    await expect(relaying).resolves.toBeUndefined();
    expect(server.applied('after-outage')).toBe(1);
  });

  it('returns once stopped, even when the stop comes while it is claiming', async () => {
    const store = memoryStore();
    let claiming: () => void = () => {};
    const claimStarted = new Promise<void>((resolve) => (claiming = resolve));
    let finishClaim: () => void = () => {};
    // The store's own claim, held open until the test has stopped the relay.
    const held: IntentStore = {
      get: (scope, id) => store.get(scope, id),
      create: (intent, options) => store.create(intent, options),
      update: (scope, id, version, change) => store.update(scope, id, version, change),
      list: (query) => store.list(query),
      compact: () => store.compact(),
      close: () => store.close(),
      claim: async (request) => {
        claiming();
        await new Promise<void>((resolve) => (finishClaim = resolve));
        return store.claim(request);
      },
    };
    const stop = new AbortController();
    // A poll far longer than the test: only the stop can end the relay's wait.
    const relaying = createClient({ prefix: server.url, store: held }).relay({ signal: stop.signal, pollMs: 600_000 });
    await claimStarted;
    stop.abort();
    finishClaim();
    await expect(relaying).resolves.toBeUndefined();
  });
});
