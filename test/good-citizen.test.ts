import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createClient, HTTPError, IdempotencyError, memoryStore, NetworkError, RetryBudgetError, TimeoutError } from '../src/index.js';
import { runPool } from '../support/pool.js';
import { type Fault, faultOnFirstAttempts, seededRandom } from '../support/server/faults.js';
import { main as cli } from '../src/cli/main.js';
import { sqliteStore } from '../src/node.js';
import { tempDir } from './support/sqlite.js';
import { useTestServer } from './support/test-server.js';

const server = useTestServer();

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('a retry budget per client and origin', () => {
  it('16 workers, 300 operations, up to three faults of every kind per key: every call resolves, nothing applied twice, nothing throttled', async () => {
    // Each key's faults, drawn once from a seed: 0 to 3 of them, on its first attempts.
    const random = seededRandom(20_240_611);
    const kinds: Fault[] = [
      { kind: 'drop-before' },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 500 },
      { kind: 'rate-limit', retryAfter: '0' },
      { kind: 'drop-after' },
      // Past the per-attempt timeout below; retries meanwhile meet the key in flight (409) until it is answered.
      { kind: 'slow', ms: 300 },
    ];
    const plan = new Map(Array.from({ length: 300 }, (_, i) => [`op-${i}`, Array.from({ length: Math.floor(random() * 4) }, () => kinds[Math.floor(random() * kinds.length)]!)]));
    server.setFaults((request) => (request.key === undefined ? undefined : plan.get(request.key)?.[request.attempt - 1]));
    const throttled: unknown[] = [];
    const api = createClient({ prefix: server.url, store: memoryStore(), timeout: 150, retry: { limit: 8, delay: () => 60 }, on: { throttle: (event) => void throttled.push(event) } });

    const responses = await runPool(300, 16, (i) => api.post('v1/payouts', { json: { i }, idempotencyKey: `op-${i}` }));
    await server.idle();

    expect(responses.map((response) => response.ok)).toEqual(Array.from({ length: 300 }, () => true));
    expect(throttled).toEqual([]);
    for (const key of plan.keys()) expect(server.applied(key)).toBe(1);
    expect(server.appliedTotal()).toBe(300);
    // The plan did fault: every kind, on most keys.
    const faulted = server.requests.filter((request) => request.fault !== undefined);
    expect(new Set(faulted.map((request) => JSON.stringify(request.fault))).size).toBe(kinds.length);
    expect(new Set(faulted.map((request) => request.key)).size).toBeGreaterThan(150);
    expect(server.requests.length).toBeGreaterThan(300 + faulted.length - 1);
  });

  it('20 calls in a row, each losing its first answer (applied, then the connection dropped): all resolve, each applied once', async () => {
    server.setFaults((request) => (request.attempt === 1 ? { kind: 'drop-after' } : undefined));
    const throttled: unknown[] = [];
    const api = createClient({ prefix: server.url, store: memoryStore(), retry: { limit: 2, delay: () => 1 }, on: { throttle: (event) => void throttled.push(event) } });
    for (let i = 0; i < 20; i++) {
      const response = await api.post('v1/payouts', { json: { i }, idempotencyKey: `lost-${i}` });
      expect([response.status, response.replayed, response.attempts]).toEqual([201, true, 2]);
      expect(server.applied(`lost-${i}`)).toBe(1);
    }
    expect(throttled).toEqual([]);
    expect(server.requests).toHaveLength(40);
  });

  it('a total outage: 200 concurrent calls send at most 1.5× their number; each says why it stopped; recover() completes every one once afterwards', async () => {
    const store = memoryStore();
    const throttled: string[] = [];
    const attempts = new Map<string, number>();
    const on = { throttle: (event: { idempotencyKey: string }) => void throttled.push(event.idempotencyKey), end: (event: { idempotencyKey: string; attempts: number }) => void attempts.set(event.idempotencyKey, event.attempts) };
    const api = createClient({ prefix: server.url, store, retry: { limit: 5, delay: () => 1 }, on });
    // Every request answered 503 or dropped before it is applied, drawn per request from a seed.
    server.setFaults(faultOnFirstAttempts([{ kind: 'status', status: 503 }, { kind: 'drop-before' }], 7, { probability: 1, upToAttempt: Infinity }));
    const keys = Array.from({ length: 200 }, (_, i) => `outage-${i}`);
    const errors = await Promise.all(keys.map((key, i) => api.post('v1/payouts', { json: { i }, idempotencyKey: key }).then(() => undefined, (error: unknown) => error)));

    // 200 first attempts; the 500 tokens pay for 100 retries at 5 each, and nothing refills them.
    expect(server.requests.length).toBeLessThanOrEqual(300);
    expect([...attempts.values()].reduce((sum, made) => sum + made, 0)).toBe(300);
    const sent = (key: string) => attempts.get(key);
    const stopped = keys.filter((_, i) => errors[i] instanceof RetryBudgetError);
    for (const [i, key] of keys.entries()) {
      const error = errors[i];
      if (error instanceof RetryBudgetError) {
        // Stopped by the budget before the retry limit: the failure not retried is its cause.
        expect([error.origin, error.idempotencyKey]).toEqual([server.url, key]);
        expect(error.cause instanceof HTTPError || error.cause instanceof NetworkError).toBe(true);
        expect(sent(key)).toBeLessThan(6);
      } else {
        // Every retry made: the last failure itself.
        expect(error instanceof HTTPError || error instanceof NetworkError).toBe(true);
        expect(sent(key)).toBe(6);
      }
    }
    expect(stopped.length).toBeGreaterThanOrEqual(180);
    expect(throttled.sort()).toEqual(stopped.sort());
    expect((await api.pending()).map((intent) => intent.state)).toEqual(keys.map(() => 'pending'));

    server.setFaults(undefined);
    const before = server.requests.length;
    const outcomes = await api.recover();
    expect(outcomes.map((outcome) => outcome.state)).toEqual(keys.map(() => 'succeeded'));
    for (const key of keys) expect(server.applied(key)).toBe(1);
    expect(server.requests.length - before).toBe(200);
  });

  it('a recovery pass during an outage leaves half the budget: a live call after it still makes every retry', async () => {
    const throttled: Array<{ key: string; tokens: number }> = [];
    const api = createClient({ prefix: server.url, store: memoryStore(), retry: { limit: 5, delay: () => 1 }, on: { throttle: (event) => void throttled.push({ key: event.idempotencyKey, tokens: event.tokens }) } });
    for (let i = 0; i < 100; i++) await api.enqueue('POST', 'v1/payouts', { json: { i }, idempotencyKey: `backlog-${i}` });
    server.setFaults(() => ({ kind: 'status', status: 503 }));

    // One intent at a time, so the accounting below is exact.
    const outcomes = await api.recover({ concurrency: 1 });
    // 250 of the 500 tokens: 50 retries (the first 10 intents, 5 each); the other 90 stop at their first failure.
    expect(server.requests).toHaveLength(100 + 50);
    expect(outcomes.map((outcome) => outcome.state)).toEqual(outcomes.map(() => 'pending'));
    const stopped = outcomes.filter((outcome) => outcome.error instanceof RetryBudgetError);
    expect(stopped).toHaveLength(90);
    expect((stopped[0]?.error as Error).message).toMatch(/half kept for live calls/);
    expect(outcomes.slice(0, 10).every((outcome) => outcome.error instanceof HTTPError)).toBe(true);
    expect(throttled.map((event) => event.key)).toEqual(stopped.map((outcome) => outcome.idempotencyKey));
    expect(throttled.map((event) => event.tokens)).toEqual(stopped.map(() => 250));

    const live = await api.post('v1/payouts', { json: { live: true }, idempotencyKey: 'live' }).catch((error: unknown) => error);
    expect(live).toBeInstanceOf(HTTPError);
    expect(live).not.toBeInstanceOf(RetryBudgetError);
    expect(server.requests.filter((request) => request.key === 'live')).toHaveLength(6);
  });

  it('a call the budget stopped rejects with RetryBudgetError: origin, key, the failure not retried; no secret; the intent still pending', async () => {
    const store = memoryStore();
    const throttled: unknown[] = [];
    // Room for one retry.
    const api = createClient({ prefix: server.url, store, retry: { limit: 3, delay: () => 1 }, retryBudget: { capacity: 5 }, on: { throttle: (event) => void throttled.push(event) } });
    server.setFaults(() => ({ kind: 'status', status: 503 }));
    const error = await api.post('v1/payouts?token=s3cret', { json: {}, idempotencyKey: 'stopped' }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(RetryBudgetError);
    expect(error).toBeInstanceOf(IdempotencyError);
    const stopped = error as RetryBudgetError;
    expect([stopped.name, stopped.origin, stopped.idempotencyKey]).toEqual(['RetryBudgetError', server.url, 'stopped']);
    expect(stopped.cause).toBeInstanceOf(HTTPError);
    expect((stopped.cause as HTTPError).response.status).toBe(503);
    expect(stopped.message).toMatch(new RegExp(`^Retry budget for ${server.url} is spent: many requests to it failed at once`));
    expect(stopped.message).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/v1\/payouts\?token=\*\*\* was not retried after a 503; key "stopped" is still pending for recover\(\) or relay\(\)/);
    expect(stopped.message).not.toMatch(/s3cret/);
    expect(throttled).toEqual([expect.objectContaining({ idempotencyKey: 'stopped', origin: server.url, tokens: 0, reason: '503', reachedServer: true })]);
    expect(server.requests).toHaveLength(2);
    expect((await api.pending()).map((intent) => [intent.idempotencyKey, intent.state, intent.attempts])).toEqual([['stopped', 'pending', 2]]);

    // A network failure not retried is its cause just the same, with whether it reached the server.
    server.setFaults(() => ({ kind: 'drop-before' }));
    const dropped = await api.post('v1/payouts', { json: {}, idempotencyKey: 'dropped' }).catch((caught: unknown) => caught);
    expect(dropped).toBeInstanceOf(RetryBudgetError);
    expect((dropped as RetryBudgetError).cause).toBeInstanceOf(NetworkError);
    expect(((dropped as RetryBudgetError).cause as { reachedServer: unknown }).reachedServer).toBe('maybe');
  });

  it('waiting out a key in flight (409) spends nothing', async () => {
    const throttled: unknown[] = [];
    const api = createClient({ prefix: server.url, store: memoryStore(), retry: { limit: 12, delay: () => 1 }, retryBudget: { capacity: 5 }, on: { throttle: (event) => void throttled.push(event) } });
    server.setFaults((request) => (request.attempt <= 10 ? { kind: 'in-flight' } : undefined));
    const response = await api.post('v1/payouts', { json: { n: 1 }, idempotencyKey: 'busy' });
    expect([response.status, response.attempts]).toEqual([201, 11]);
    expect(throttled).toEqual([]);
  });

  it('retryBudget: false turns it off', async () => {
    const api = createClient({ prefix: server.url, store: memoryStore(), retry: { limit: 8, delay: () => 1 }, retryBudget: false });
    server.setFaults((request) => (request.attempt <= 8 ? { kind: 'status', status: 503 } : undefined));
    expect((await api.post('v1/payouts', { json: {}, idempotencyKey: 'stubborn' })).attempts).toBe(9);
  });
});

describe('a long Retry-After is parked, not resent at once', () => {
  it('recover() leaves it alone until then; pending() and the CLI say so', async () => {
    const dir = await tempDir();
    const api = createClient({ prefix: server.url, store: sqliteStore(`${dir}/intents.db`), retry: 2 });
    server.setFaults(() => ({ kind: 'status', status: 503, retryAfter: '1800' }));
    await expect(api.post('v1/payouts', { json: {}, idempotencyKey: 'parked' })).rejects.toThrow();
    expect(server.requests).toHaveLength(1);
    const [intent] = await api.pending();
    expect(intent?.parkedUntil).toBeGreaterThan(Date.now() + 1790_000);
    server.setFaults(undefined);
    expect(await api.recover()).toEqual([]);
    expect(server.requests).toHaveLength(1);
    const printed: string[] = [];
    expect(await cli(['list', dir], (line) => printed.push(line), (line) => printed.push(line))).toBe(0);
    expect(printed.join('\n')).toMatch(/parked 30m/);
    await api.close();
  });
});

describe('down or slow: whether a failed attempt reached the server', () => {
  it('a refused connection never reached it: reachedServer false, in the retry events and the error', async () => {
    const reached: unknown[] = [];
    const api = createClient({ prefix: `http://127.0.0.1:${await closedPort()}/`, store: memoryStore(), retry: { limit: 1, delay: () => 1 }, on: { retry: (event) => void reached.push(event.reachedServer) } });
    const error = await api.post('v1/payouts', { json: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as { reachedServer: unknown }).reachedServer).toBe(false);
    expect(reached).toEqual([false]);
  });

  it('a timeout after sending may have been applied: reachedServer "maybe"', async () => {
    const api = createClient({ prefix: server.url, store: memoryStore(), timeout: 100, retry: 0 });
    server.setFaults(() => ({ kind: 'slow', ms: 1_000 }));
    const error = await api.post('v1/payouts', { json: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as { reachedServer: unknown }).reachedServer).toBe('maybe');
  });

  it('a connection dropped after the request was read: reachedServer "maybe"', async () => {
    const api = createClient({ prefix: server.url, store: memoryStore(), retry: 0 });
    server.setFaults(() => ({ kind: 'drop-after' }));
    const error = await api.post('v1/payouts', { json: {} }).catch((caught: unknown) => caught);
    expect((error as { reachedServer: unknown }).reachedServer).toBe('maybe');
  });
});
