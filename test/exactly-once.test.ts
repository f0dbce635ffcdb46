import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, memoryStore } from '../src/index.js';
import { everyFault, faultOnFirstAttempts } from '../support/server/faults.js';
import { startTestServer } from '../support/server/index.js';
import { runPool } from '../support/pool.js';
import type { Dialect } from '../support/server/dialects.js';
import type { TestServer } from '../support/server/types.js';

const EVERY_FAULT = everyFault(400);


describe.each([
  ['seed004', 240],
  ['seed002', 60],
  ['stripe', 60],
] as Array<[Dialect, number]>)('against %s, with faults on most first attempts', (dialect, operations) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ dialect, faults: faultOnFirstAttempts(EVERY_FAULT, 42, { probability: 0.8 }) });
  });
  afterAll(() => server.close());

  it(`applies each of ${operations} concurrent operations exactly once, with one key per operation`, async () => {
    const api = createClient({
      prefix: server.url,
      store: memoryStore(),
      headers: { Authorization: 'Bearer tenant-1' },
      timeout: 200,
      retry: { limit: 8, delay: () => 50 },
      // Faults on most first attempts: this proves the retries themselves, so no budget throttles them.
      retryBudget: false,
    });
    const responses = await runPool(operations, 12, async (index) => {
      const response = await api.post('v1/payouts', { json: { payout: index, amount: 100 + index } });
      // Reads ride along to show they are never keyed; their timeout is not what is under test.
      if (index % 10 === 0) await api.get('v1/payouts', { timeout: 5_000 });
      return response;
    });
    await server.idle();

    const writes = server.requests.filter((request) => request.method === 'POST');
    const reads = server.requests.filter((request) => request.method === 'GET');
    expect(writes.filter((request) => request.fault !== undefined).length).toBeGreaterThan(operations / 2);
    expect(writes.every((request) => typeof request.key === 'string' && request.key !== '')).toBe(true);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((request) => request.key === undefined)).toBe(true);

    const keys = new Set(responses.map((response) => response.idempotencyKey));
    expect(keys.size).toBe(operations);
    for (const response of responses) {
      expect(server.applied(response.idempotencyKey)).toBe(1);
      const attempts = writes.filter((request) => request.key === response.idempotencyKey);
      // An attempt that timed out before its bytes left this process never reaches the server.
      expect(attempts.length).toBeGreaterThanOrEqual(1);
      expect(attempts.length).toBeLessThanOrEqual(response.attempts);
      expect(new Set(attempts.map((request) => request.body)).size).toBe(1);
    }
    expect(server.appliedTotal()).toBe(operations);
  });
});
