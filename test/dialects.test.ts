import { describe, expect, it } from 'vitest';
import {
  createClient,
  HTTPError,
  IdempotencyError,
  IdempotencyKeyInvalidError,
  IdempotencyMismatchError,
  memoryStore,
  type ClientOptions,
} from '../src/index.js';
import { faultOnce } from '../support/server/faults.js';
import { startTestServer } from '../support/server/index.js';
import type { Dialect } from '../support/server/dialects.js';
import { useTestServer } from './support/test-server.js';

/** Each API with only what its own document says as configuration. */
const apis: Array<{ dialect: Dialect; options: ClientOptions; marksReplays: boolean; mismatchCode: string | undefined }> = [
  { dialect: 'seed000', options: {}, marksReplays: false, mismatchCode: 'IDEMPOTENCY_MISMATCH' },
  { dialect: 'seed001', options: {}, marksReplays: false, mismatchCode: 'error_idempotency_key_conflict' },
  { dialect: 'seed002', options: { keyTtlMs: 90_000 }, marksReplays: true, mismatchCode: 'idempotency_key_reused' },
  { dialect: 'seed003', options: { maxKeyLength: 128 }, marksReplays: true, mismatchCode: 'idempotency_key_reused' },
  { dialect: 'seed004', options: {}, marksReplays: true, mismatchCode: 'idempotency_key_mismatch' },
  { dialect: 'stripe', options: {}, marksReplays: true, mismatchCode: 'idempotency_error' },
  { dialect: 'ietf', options: { keyFormat: 'sf-string' }, marksReplays: false, mismatchCode: 'idempotency' },
  { dialect: 'express-idempotency', options: {}, marksReplays: false, mismatchCode: undefined },
  { dialect: 'nestjs', options: {}, marksReplays: false, mismatchCode: undefined },
];

describe.each(apis)('against $dialect', ({ dialect, options, marksReplays, mismatchCode }) => {
  const server = useTestServer({ dialect });

  // A fresh journal per client: these tests are about what the server says, not the journal.
  const client = (extra: ClientOptions = {}) =>
    createClient({ prefix: server.url, store: memoryStore(), headers: { Authorization: 'Bearer t' }, retry: { limit: 3, delay: () => 20 }, timeout: 2_000, ...options, ...extra });

  it('a lost answer is retried with the same key and applied once', async () => {
    server.setFaults(faultOnce({ kind: 'drop-after' }));
    const response = await client().post('v1/payouts', { json: { amount: 1 } });
    expect(response.ok).toBe(true);
    expect(server.applied(response.idempotencyKey)).toBe(1);
    expect(response.replayed).toBe(marksReplays);
  });

  it('a key reused with another body is an IdempotencyMismatchError with the server’s code', async () => {
    await client().post('v1/payouts', { json: { amount: 1 }, idempotencyKey: 'reused-key' });
    const error = await client().post('v1/payouts', { json: { amount: 2 }, idempotencyKey: 'reused-key' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdempotencyMismatchError);
    expect((error as IdempotencyError).code).toBe(mismatchCode);
    expect((error as IdempotencyError).status).toBeGreaterThanOrEqual(400);
    expect(server.applied('reused-key')).toBe(1);
  });

  it('a twin of a request in flight is retried until the first answers', async () => {
    server.setFaults(faultOnce({ kind: 'in-flight' }));
    const response = await client().post('v1/payouts', { json: { amount: 3 } });
    expect(response.ok).toBe(true);
    expect(response.attempts).toBe(2);
    expect(server.applied(response.idempotencyKey)).toBe(1);
  });

  it('an ordinary validation 422 and a business 409 stay plain HTTPErrors', async () => {
    for (const path of ['v1/invalid', 'v1/business-conflict']) {
      const error = await client().post(path, { json: {} }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HTTPError);
      expect(error).not.toBeInstanceOf(IdempotencyError);
    }
  });
});

describe('keys the server refuses', () => {
  it.each([
    ['seed004', 256, 'invalid_idempotency_key'],
    ['seed003', 129, 'idempotency_key_invalid'],
  ] as Array<[Dialect, number, string]>)('%s: a %i-character key is an IdempotencyKeyInvalidError', async (dialect, length, code) => {
    const server = await startTestServer({ dialect });
    try {
      const api = createClient({ prefix: server.url, store: memoryStore(), maxKeyLength: 1000 });
      const error = await api.post('v1/payouts', { json: {}, idempotencyKey: 'k'.repeat(length) }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(IdempotencyKeyInvalidError);
      expect((error as IdempotencyKeyInvalidError).code).toBe(code);
      expect(server.appliedTotal()).toBe(0);
    } finally {
      await server.close();
    }
  });
});
