import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createClient, memoryStore, type ClientOptions, type IntentStore, type RecoveryOutcome } from '../src/index.js';
import { makeIntent } from '../src/testing/intents.js';
import { useRawServer } from './support/raw-server.js';

// Two upstream APIs, each a real server on its own port: two origins.
const hostA = useRawServer();
const hostB = useRawServer();

const dropConnection = (_request: unknown, res: ServerResponse) => res.socket?.destroy();

/** The client of one upstream API: its own token, and whatever key header that API wants. */
function apiOn(url: string, store: IntentStore, options: ClientOptions = {}) {
  return createClient({ prefix: url, store, retry: { limit: 0 }, timeout: 5_000, ...options });
}

/** A call whose connection drops before any answer: the intent stays pending, free for recovery. */
async function leavePending(host: typeof hostA, api: ReturnType<typeof apiOn>, idempotencyKey: string, json: unknown = { amount: 500 }) {
  host.answer(dropConnection);
  await expect(api.post('v1/payouts', { json, idempotencyKey })).rejects.toThrow();
  host.reset();
}

/** A pending, unowned intent journaled just now, as another process (or a hand) might leave it. */
const fresh = (overrides: Parameters<typeof makeIntent>[0]) => makeIntent({ scope: 'default', createdAt: Date.now(), expiresAt: Date.now() + 60 * 60_000, ...overrides });

const states = (outcomes: RecoveryOutcome[]) => outcomes.map((outcome) => [outcome.idempotencyKey, outcome.state]);

describe('two hosts never share an intent', () => {
  it('the same key, path and body on host B is sent to B, not answered from A’s journal entry, within one scope', async () => {
    const store = memoryStore();
    const apiA = apiOn(hostA.url, store, { scope: 'shared' });
    const apiB = apiOn(hostB.url, store, { scope: 'shared' });
    const onA = await apiA.post('v1/payouts', { json: { amount: 500 }, idempotencyKey: 'payout-1' });
    const onB = await apiB.post('v1/payouts', { json: { amount: 500 }, idempotencyKey: 'payout-1' });

    expect([onA.replayed, onA.attempts, onB.replayed, onB.attempts]).toEqual([false, 1, false, 1]);
    expect(hostA.requests).toHaveLength(1);
    expect(hostB.requests).toHaveLength(1);
    expect(hostB.requests[0]?.headers['idempotency-key']).toBe('payout-1');
    expect((await store.list({ scope: 'shared' })).map((intent) => [intent.origin, intent.state])).toEqual([
      [hostA.url, 'succeeded'],
      [hostB.url, 'succeeded'],
    ]);
  });
});

describe('recover() sends only where the client may, as the intent was made', () => {
  it('a client does not send another API’s pending intent with its own token: skipped, reported, and left for that API’s client', async () => {
    const store = memoryStore();
    const apiA = apiOn(hostA.url, store, { headers: { Authorization: 'Bearer tok_A' } });
    const apiB = apiOn(hostB.url, store, { headers: { Authorization: 'Bearer tok_B' }, keyHeader: 'X-Idempotency-Key' });
    await leavePending(hostB, apiB, 'payout-b');

    const reported: string[] = [];
    const recoveringA = apiOn(hostA.url, store, { headers: { Authorization: 'Bearer tok_A' }, on: { recovery: (event) => void reported.push(`${event.idempotencyKey} ${event.state}`) } });
    expect(states(await recoveringA.recover())).toEqual([['payout-b', 'skipped']]);
    expect(reported).toEqual(['payout-b skipped']);
    expect([hostA.requests, hostB.requests]).toEqual([[], []]);
    expect((await apiA.pending()).map((intent) => intent.idempotencyKey)).toEqual(['payout-b']);

    expect(states(await apiB.recover())).toEqual([['payout-b', 'succeeded']]);
    expect(hostA.requests).toEqual([]);
    expect(hostB.requests).toHaveLength(1);
    const { headers, body } = hostB.requests[0]!;
    expect(headers).toMatchObject({ authorization: 'Bearer tok_B', 'x-idempotency-key': 'payout-b', 'content-type': 'application/json' });
    expect(headers).not.toHaveProperty('idempotency-key');
    expect(body.toString()).toBe('{"amount":500}');
  });

  it('resends with the key header and key format stored with the intent, whatever the recovering client’s own are', async () => {
    const store = memoryStore();
    const maker = apiOn(hostB.url, store, { keyHeader: 'X-Idempotency-Key', keyFormat: 'sf-string' });
    await leavePending(hostB, maker, 'payout-sf');

    const recoverer = apiOn(hostB.url, store, { keyHeader: 'Idempotency-Key', keyFormat: 'token' });
    expect(states(await recoverer.recover())).toEqual([['payout-sf', 'succeeded']]);
    expect(hostB.requests[0]?.headers['x-idempotency-key']).toBe('"payout-sf"');
    expect(hostB.requests[0]?.headers).not.toHaveProperty('idempotency-key');
  });

  it('resends with the client’s current credentials, not those of the call that journaled it', async () => {
    const store = memoryStore();
    await leavePending(hostB, apiOn(hostB.url, store, { headers: { Authorization: 'Bearer tok_B_old' } }), 'payout-rotated');

    await apiOn(hostB.url, store, { headers: { Authorization: 'Bearer tok_B_new' } }).recover();
    expect(hostB.requests.map((request) => request.headers.authorization)).toEqual(['Bearer tok_B_new']);
  });

  it('`origins` lets one client recover for several hosts, each intent to its own host', async () => {
    const store = memoryStore();
    await leavePending(hostA, apiOn(hostA.url, store), 'payout-a');
    await leavePending(hostB, apiOn(hostB.url, store), 'payout-b');

    const both = apiOn(hostA.url, store, { origins: [hostA.url, hostB.url], headers: { Authorization: 'Bearer tok_ops' } });
    expect(states(await both.recover())).toEqual([['payout-a', 'succeeded'], ['payout-b', 'succeeded']]);
    expect(hostA.requests.map((request) => request.headers['idempotency-key'])).toEqual(['payout-a']);
    expect(hostB.requests.map((request) => request.headers['idempotency-key'])).toEqual(['payout-b']);
  });

  it('`baseUrl` alone makes its origin the one recovery may send to', async () => {
    const store = memoryStore();
    await leavePending(hostA, apiOn(hostA.url, store), 'payout-a');
    await leavePending(hostB, apiOn(hostB.url, store), 'payout-b');

    const onB = createClient({ baseUrl: `${hostB.url}/v1/`, store, retry: { limit: 0 } });
    expect(states(await onB.recover())).toEqual([['payout-a', 'skipped'], ['payout-b', 'succeeded']]);
    expect(hostA.requests).toEqual([]);
  });

  it('a client with neither prefix, baseUrl nor origins may not recover or relay: a TypeError saying so, nothing sent', async () => {
    const store = memoryStore();
    await leavePending(hostA, apiOn(hostA.url, store), 'payout-a');
    const unplaced = createClient({ store, retry: { limit: 0 } });
    await expect(unplaced.recover()).rejects.toThrow(TypeError);
    await expect(unplaced.recover()).rejects.toThrow(/prefix.*baseUrl.*origins/);
    await expect(unplaced.relay({ signal: AbortSignal.abort() })).rejects.toThrow(/prefix.*baseUrl.*origins/);
    expect(hostA.requests).toEqual([]);
  });

  it('an intent planted in the journal for a foreign origin is never sent: skipped, and still pending', async () => {
    const store = memoryStore();
    const planted = fresh({ origin: hostB.url, id: `POST ${hostB.url}/v1/payouts planted`, idempotencyKey: 'planted', url: `${hostB.url}/v1/payouts` });
    await store.create(planted);

    const apiA = apiOn(hostA.url, store, { headers: { Authorization: 'Bearer tok_A' } });
    expect(states(await apiA.recover())).toEqual([['planted', 'skipped']]);
    expect([hostA.requests, hostB.requests]).toEqual([[], []]);
    expect((await store.get('default', planted.id))?.state).toBe('pending');
  });

  it('an intent whose recorded origin disagrees with its URL is judged by the URL it would be sent to: skipped, never sent', async () => {
    const store = memoryStore();
    // A record claiming host A while its URL points at host B: a forged or corrupted journal row.
    const forged = fresh({ origin: hostA.url, id: `POST ${hostA.url}/v1/payouts forged`, idempotencyKey: 'forged', url: `${hostB.url}/v1/payouts` });
    await store.create(forged);

    const apiA = apiOn(hostA.url, store, { headers: { Authorization: 'Bearer tok_A' } });
    expect(states(await apiA.recover())).toEqual([['forged', 'skipped']]);
    expect([hostA.requests, hostB.requests]).toEqual([[], []]);
  });

  it('an intent of another scope is neither listed, sent nor reported', async () => {
    const store = memoryStore();
    await leavePending(hostA, apiOn(hostA.url, store, { scope: 'tenant-1' }), 'payout-t1');
    const tenant2 = apiOn(hostA.url, store, { scope: 'tenant-2' });
    expect(await tenant2.pending()).toEqual([]);
    expect(await tenant2.recover()).toEqual([]);
    expect(hostA.requests).toEqual([]);
  });
});
