import { describe, expect, it } from 'vitest';
import { createClient, HTTPError, IdempotencyConflictError, IdempotencyStoreError, memoryStore, type IntentStore } from '../src/index.js';
import { faultOnce } from '../support/server/faults.js';
import { brokenStore, recordingStore } from './support/stores.js';
import { useTestServer } from './support/test-server.js';
import type { Fault } from '../support/server/faults.js';

const server = useTestServer();

const clientOn = (store: IntentStore = memoryStore(), extra = {}) =>
  createClient({ prefix: server.url, store, timeout: 300, retry: { limit: 3, delay: () => 10 }, ...extra });
const writes = () => server.requests.filter((request) => request.method !== 'GET');

describe('retried with the same key', () => {
  const retried: Array<[string, Fault]> = [
    ['a connection dropped before processing', { kind: 'drop-before' }],
    ['a connection dropped after processing (the lost answer)', { kind: 'drop-after' }],
    ['a 503', { kind: 'status', status: 503 }],
    ['a 500', { kind: 'status', status: 500 }],
    ['a 429 with Retry-After', { kind: 'rate-limit', retryAfter: '0' }],
    ['a slow answer past the per-attempt timeout', { kind: 'slow', ms: 600 }],
    ['a 409 while the first request is in flight', { kind: 'in-flight' }],
  ];
  for (const [what, fault] of retried) {
    it(`${what}: applied once, one key on every attempt`, async () => {
      server.setFaults(faultOnce(fault));
      // Slow enough that the first attempt times out; retries spaced so the first finishes in between.
      const response = await clientOn(memoryStore(), { retry: { limit: 4, delay: () => 200 } }).post('v1/payouts', { json: { amount: 100 } });
      expect(response.status).toBe(201);
      const keys = new Set(writes().map((request) => request.key));
      expect(keys).toEqual(new Set([response.idempotencyKey]));
      expect(writes().length).toBeGreaterThanOrEqual(2);
      expect(response.attempts).toBe(writes().length);
      expect(server.applied(response.idempotencyKey)).toBe(1);
      await server.idle();
      expect(server.applied(response.idempotencyKey)).toBe(1);
    });
  }

  it('the lost answer comes back as the server’s replay', async () => {
    server.setFaults(faultOnce({ kind: 'drop-after' }));
    const response = await clientOn().post('v1/payouts', { json: { amount: 1 } });
    expect(response.replayed).toBe(true);
    expect(response.attempts).toBe(2);
  });

  it('honours Retry-After before the next attempt', async () => {
    const arrivals: number[] = [];
    server.setFaults((request) => {
      arrivals.push(Date.now());
      return request.attempt === 1 ? { kind: 'rate-limit', retryAfter: '1' } : undefined;
    });
    await clientOn().post('v1/payouts', { json: {} });
    expect(arrivals).toHaveLength(2);
    expect((arrivals[1] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('a Retry-After beyond maxRetryAfter is not waited for: the call fails and the intent stays pending', async () => {
    server.setFaults(() => ({ kind: 'rate-limit', retryAfter: '3600' }));
    const store = memoryStore();
    const error = await clientOn(store, { retry: { limit: 5, maxRetryAfter: 5_000 } }).post('v1/payouts', { json: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HTTPError);
    expect((error as HTTPError).response.status).toBe(429);
    expect(writes()).toHaveLength(1);
    expect((await store.list()).map((intent) => intent.state)).toEqual(['pending']);
  });

  it('a key still in flight after every retry is an IdempotencyConflictError and stays pending', async () => {
    server.setFaults(() => ({ kind: 'in-flight' }));
    const store = memoryStore();
    await expect(clientOn(store).post('v1/payouts', { json: {} })).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(writes()).toHaveLength(4);
    expect((await store.list()).map((intent) => [intent.state, intent.attempts])).toEqual([['pending', 4]]);
  });

  it('5xx on every attempt: HTTPError after limit + 1 attempts, intent pending', async () => {
    server.setFaults(() => ({ kind: 'status', status: 502 }));
    const store = memoryStore();
    await expect(clientOn(store).post('v1/payouts', { json: {} })).rejects.toBeInstanceOf(HTTPError);
    expect(writes()).toHaveLength(4);
    expect(server.appliedTotal()).toBe(0);
    expect((await store.list())[0]?.state).toBe('pending');
  });
});

describe('never retried', () => {
  for (const [path, status] of [['v1/invalid', 422], ['nowhere/at-all', 404]] as const) {
    it(`a ${status}`, async () => {
      await expect(clientOn().post(path, { json: {} })).rejects.toBeInstanceOf(HTTPError);
      expect(writes()).toHaveLength(1);
    });
  }
});

describe('aborting', () => {
  it('stops at once, mid-attempt, and leaves the intent pending', async () => {
    server.setFaults(() => ({ kind: 'slow', ms: 5_000 }));
    const store = memoryStore();
    const controller = new AbortController();
    const call = clientOn(store, { timeout: false }).post('v1/payouts', { json: {}, signal: controller.signal });
    await server.waitForRequests(1);
    controller.abort();
    const error = await call.catch((caught: unknown) => caught);
    expect((error as Error).name).toBe('AbortError');
    // At once: the call ended while the server was still holding its 5 s answer.
    expect(server.requests[0]?.status).toBeUndefined();
    expect(writes()).toHaveLength(1);
    expect((await store.list()).map((intent) => intent.state)).toEqual(['pending']);
  });

  it('stops during the wait between attempts', async () => {
    server.setFaults(() => ({ kind: 'status', status: 503 }));
    const controller = new AbortController();
    const call = clientOn(memoryStore(), { retry: { limit: 5, delay: () => 60_000 } }).post('v1/payouts', { json: {}, signal: controller.signal });
    await server.waitForRequests(1);
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(writes()).toHaveLength(1);
  });
});

describe('the journal on a real wire', () => {
  it('the pending intent is stored before the first byte arrives, and settled after the last attempt', async () => {
    const events: string[] = [];
    server.setFaults((request) => {
      events.push(`request:${request.attempt}`);
      return request.attempt === 1 ? { kind: 'status', status: 503 } : undefined;
    });
    const client = clientOn(recordingStore(events));
    await client.post('v1/payouts', { json: { amount: 1 }, idempotencyKey: 'payout-1' });
    await client.flush();
    expect(events).toEqual(['create', 'request:1', 'request:2', 'update:succeeded']);
  });

  it('nothing reaches the server when the store cannot write', async () => {
    await expect(clientOn(brokenStore()).post('v1/payouts', { json: {} })).rejects.toBeInstanceOf(IdempotencyStoreError);
    expect(server.requests).toHaveLength(0);
  });
});

describe('plain reads (get, head) retried with the keyed calls’ policy', () => {
  /** The first `count` reads fail with `fault`. */
  const failReads = (count: number, fault: Fault) => {
    let left = count;
    server.setFaults((request) => (request.method !== 'POST' && left-- > 0 ? fault : undefined));
  };

  it('a retry.delay of the client paces a GET’s retries', async () => {
    failReads(2, { kind: 'status', status: 503 });
    const asked: number[] = [];
    const response = await clientOn(memoryStore(), { retry: { limit: 3, delay: (attempt: number) => (asked.push(attempt), 5) } }).get('v1/payouts');
    expect(response.status).toBe(200);
    expect(asked).toEqual([1, 2]);
    expect(server.requests.map((request) => request.status)).toEqual([503, 503, 200]);
  });

  it('a retry.delay of the call paces a HEAD’s retries', async () => {
    failReads(1, { kind: 'drop-before' });
    const asked: number[] = [];
    const response = await clientOn().head('v1/payouts', { retry: { limit: 1, delay: (attempt) => (asked.push(attempt), 5) } });
    expect(response.status).toBe(200);
    expect(asked).toEqual([1]);
    expect(server.requests).toHaveLength(2);
  });

  it('a Retry-After beyond maxRetryAfter is not waited for: the GET fails after one request', async () => {
    failReads(5, { kind: 'rate-limit', retryAfter: '3600' });
    const asked: number[] = [];
    const error = await clientOn(memoryStore(), { retry: { limit: 3, maxRetryAfter: 5_000, delay: (attempt: number) => (asked.push(attempt), 5) } })
      .get('v1/payouts')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HTTPError);
    expect((error as HTTPError).response.status).toBe(429);
    expect(server.requests).toHaveLength(1);
    expect(asked).toEqual([]);
  });

  it('a Retry-After within maxRetryAfter is waited for instead of the backoff', async () => {
    const arrivals: number[] = [];
    const asked: number[] = [];
    server.setFaults(() => (arrivals.push(Date.now()) === 1 ? { kind: 'rate-limit', retryAfter: '1' } : undefined));
    const response = await clientOn(memoryStore(), { retry: { limit: 2, delay: (attempt: number) => (asked.push(attempt), 5) } }).get('v1/payouts');
    expect(response.status).toBe(200);
    expect(asked).toEqual([]);
    expect((arrivals[1] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(950);
  });
});
