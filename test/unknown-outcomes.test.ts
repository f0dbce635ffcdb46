import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createClient, IdempotencyError, IdempotencyKeyExpiredError, memoryStore, type IntentStore } from '../src/index.js';
import { sqliteStore } from '../src/node.js';
import { tempDir } from './support/sqlite.js';
import { useTestServer } from './support/test-server.js';

const server = useTestServer();

/** Leaves an intent pending whose key's TTL (1 ms) has passed: the server applied it, the answer was lost. */
async function leaveExpired(store: IntentStore, key: string) {
  server.setFaults((request) => (request.attempt === 1 ? { kind: 'drop-after' } : undefined));
  const api = createClient({ prefix: server.url, store, keyTtlMs: 1, retry: 0 });
  await expect(api.post('v1/payouts', { json: { key }, idempotencyKey: key })).rejects.toThrow();
  server.setFaults(undefined);
  await vi.waitFor(async () => expect((await store.list())[0]!.expiresAt).toBeLessThan(Date.now()));
  return api;
}

describe('an expired intent is an unknown outcome, kept until someone decides', () => {
  it('recover() marks it expired without sending; pending() lists it; it is never compacted', async () => {
    const store = memoryStore();
    const api = await leaveExpired(store, 'payout-1');
    server.reset();
    expect((await api.recover()).map((outcome) => outcome.state)).toEqual(['expired']);
    expect(server.requests).toHaveLength(0);
    expect((await api.pending()).map((intent) => [intent.idempotencyKey, intent.state])).toEqual([['payout-1', 'expired']]);
    await store.compact();
    expect((await api.pending()).map((intent) => intent.state)).toEqual(['expired']);
    await expect(api.post('v1/payouts', { json: { key: 'payout-1' }, idempotencyKey: 'payout-1' })).rejects.toBeInstanceOf(IdempotencyKeyExpiredError);
    expect(server.requests).toHaveLength(0);
  });

  it('recover({ resendExpired: true }) resends it, knowingly, and the server replays it', async () => {
    const store = memoryStore();
    const api = await leaveExpired(store, 'payout-2');
    await api.recover();
    const [outcome] = await api.recover({ resendExpired: true });
    expect(outcome?.state).toBe('succeeded');
    expect(outcome?.response?.replayed).toBe(true);
    expect(server.applied('payout-2')).toBe(1);
    expect(await api.pending()).toEqual([]);
  });

  it('resolve() settles it by an operator’s word: no longer pending, never sent, the same key answered without a request', async () => {
    const store = memoryStore();
    const api = await leaveExpired(store, 'payout-3');
    await api.recover();
    const [intent] = await api.pending();
    await api.resolve(intent!, 'succeeded');
    expect(await api.pending()).toEqual([]);
    server.reset();
    const again = await api.post('v1/payouts', { json: { key: 'payout-3' }, idempotencyKey: 'payout-3' }).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(IdempotencyError);
    expect((again as Error).message).toMatch(/settled as succeeded with no answer stored \(settled by an operator.*nothing was sent/);
    // Settled for good: resolving again is refused, and recovery never sends it.
    await expect(api.resolve(intent!, 'failed')).rejects.toThrow(/already succeeded/);
    expect(await api.recover({ resendExpired: true })).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it('resolve() refuses an intent an owner is still working on', async () => {
    const store = memoryStore();
    server.setFaults(() => ({ kind: 'slow', ms: 2_000 }));
    const api = createClient({ prefix: server.url, store, retry: 0 });
    const call = api.post('v1/payouts', { json: { n: 1 }, idempotencyKey: 'held' });
    await server.waitForRequests(1);
    const [intent] = await api.pending();
    await expect(api.resolve(intent!, 'failed')).rejects.toThrow(/an owner is still working on it/);
    await call;
  });
});

describe('settled intents past their retention are compacted by the client, whatever the store', () => {
  it('a store that never compacts by itself is asked to by recover()', async () => {
    const store = memoryStore();
    const api = createClient({ prefix: server.url, store, keyTtlMs: 1 });
    await api.post('v1/payouts', { json: { n: 1 }, idempotencyKey: 'done' });
    await api.flush();
    await vi.waitFor(async () => expect((await store.list())[0]!.expiresAt).toBeLessThan(Date.now()));
    expect((await store.list()).map((intent) => intent.state)).toEqual(['succeeded']);
    await api.recover();
    await vi.waitFor(async () => expect(await store.list()).toEqual([]));
  });
});

describe('an answer too big for the journal', () => {
  it('is handed to the caller, settles the intent without it (event unstoredAnswer), and is never sent again', async () => {
    const dir = await tempDir();
    // The server echoes the body in its answer, every quote escaped: an answer of twice the body.
    const body = '"'.repeat(900);
    const unstored: unknown[] = [];
    const api = createClient({
      prefix: server.url,
      store: sqliteStore(join(dir, 'intents.db'), { maxBodyBytes: 1_024 }),
      on: { unstoredAnswer: (event) => void unstored.push(event) },
    });
    const response = await api.post('v1/payouts', { body, headers: { 'content-type': 'text/plain' }, idempotencyKey: 'big-answer' });
    expect(response.status).toBe(201);
    expect((await response.json()) as { received: string }).toMatchObject({ received: body });
    await api.flush();
    expect(unstored).toEqual([expect.objectContaining({ idempotencyKey: 'big-answer', state: 'succeeded', reason: expect.stringMatching(/stored answer body is \d+ bytes; the sqlite store keeps at most 1024/) })]);

    // Settled, not pending: no recovery or relay sends it, and a repeat is refused rather than sent.
    expect(await api.pending()).toEqual([]);
    expect(await api.recover()).toEqual([]);
    const repeat = await api.post('v1/payouts', { body, headers: { 'content-type': 'text/plain' }, idempotencyKey: 'big-answer' }).catch((error: unknown) => error);
    expect(repeat).toBeInstanceOf(IdempotencyError);
    expect((repeat as Error).message).toMatch(/settled as succeeded with no answer stored .*too big to journal.*nothing was sent/);
    expect(server.requests).toHaveLength(1);
    await api.close();
  });
});
