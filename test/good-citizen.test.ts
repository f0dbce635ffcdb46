import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createClient, memoryStore, NetworkError, TimeoutError } from '../src/index.js';
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
  it('in an outage, retries stay within the budget; after it, recovery completes every operation once', async () => {
    const store = memoryStore();
    const throttled: string[] = [];
    const api = createClient({ prefix: server.url, store, retry: { limit: 5, delay: () => 1 }, on: { throttle: (event) => void throttled.push(event.idempotencyKey) } });
    server.setFaults(() => ({ kind: 'status', status: 503 }));
    const calls = Array.from({ length: 30 }, (_, i) => api.post('v1/payouts', { json: { i }, idempotencyKey: `payout-${i}` }).catch(() => 'failed'));
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 30 }, () => 'failed'));
    // One attempt per call, plus at most the 5 retries half a bucket of 10 allows: not 30 × 6.
    expect(server.requests.length).toBeLessThanOrEqual(30 + 5);
    expect(throttled.length).toBeGreaterThanOrEqual(25);
    expect((await api.pending()).length).toBe(30);

    server.setFaults(undefined);
    const outcomes = await api.recover();
    expect(outcomes.map((outcome) => outcome.state)).toEqual(Array.from({ length: 30 }, () => 'succeeded'));
    for (let i = 0; i < 30; i++) expect(server.applied(`payout-${i}`)).toBe(1);
  });

  it('waiting out a key in flight (409) spends nothing', async () => {
    const throttled: unknown[] = [];
    const api = createClient({ prefix: server.url, store: memoryStore(), retry: { limit: 12, delay: () => 1 }, on: { throttle: (event) => void throttled.push(event) } });
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
