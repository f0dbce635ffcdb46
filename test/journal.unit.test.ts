import { describe, expect, it } from 'vitest';
import {
  createClient,
  HTTPError,
  IdempotencyMismatchError,
  IdempotencyStoreError,
  memoryStore,
  type IntentStore,
} from '../src/index.js';
import { answering, HttpResponse, ORIGIN, useMsw } from './support/msw.js';
import { brokenStore, recordingStore } from './support/stores.js';

const server = useMsw();
const clientWith = (store: IntentStore) => createClient({ prefix: ORIGIN, store, retry: { limit: 2, delay: () => 0 } });

describe('the intent is journaled before anything is sent', () => {
  it('writes the pending intent, then sends, then settles', async () => {
    const events: string[] = [];
    server.use(answering('/v1/payouts', () => {
      events.push('request');
      return HttpResponse.json({ id: 1 }, { status: 201 });
    }).handler);
    const client = clientWith(recordingStore(events));
    await client.post('v1/payouts', { json: { amount: 5 }, idempotencyKey: 'payout-5' });
    await client.flush();
    expect(events).toEqual(['create', 'request', 'update:succeeded']);
    events.length = 0;
    await client.post('v1/payouts', { json: { amount: 6 } });
    await client.flush();
    expect(events).toEqual(['create', 'request', 'update:succeeded']);
  });

  it('a store that cannot write stops the call with IdempotencyStoreError and sends nothing', async () => {
    const { handler, seen } = answering('/v1/payouts', () => HttpResponse.json({}, { status: 201 }));
    server.use(handler);
    const error = await clientWith(brokenStore()).post('v1/payouts', { json: {}, idempotencyKey: 'payout-9' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdempotencyStoreError);
    expect((error as IdempotencyStoreError).idempotencyKey).toBe('payout-9');
    expect((error as Error).message).toMatch(/nothing was sent.*SQLITE_FULL/);
    expect(seen).toHaveLength(0);
  });

  it('keeps body, fingerprint and allow-listed headers, never credentials', async () => {
    server.use(answering('/v1/payouts', () => HttpResponse.json({}, { status: 201 })).handler);
    const store = memoryStore();
    const client = createClient({
      prefix: ORIGIN,
      store,
      headers: { Authorization: 'Bearer sk_live_secret', Cookie: 'session=abc', 'X-Tenant': 't1', 'X-Api-Key': 'k_secret' },
    });
    // A credential the call repeats as the client sends it is no credential of its own: accepted, and not journaled.
    await client.post('v1/payouts', { json: { amount: 7 }, headers: { 'X-Api-Key': 'k_secret' } });
    await client.flush();
    const [summary] = await store.list();
    const intent = await store.get(summary!.scope, summary!.id);
    expect(intent).toMatchObject({ scope: 'default', method: 'POST', url: `${ORIGIN}/v1/payouts`, origin: ORIGIN, state: 'succeeded', attempts: 1, owner: null });
    expect(intent?.headers).toEqual({ 'content-type': 'application/json' });
    expect(new TextDecoder().decode(intent?.body)).toBe('{"amount":7}');
    expect(intent?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(intent, (_key, value: unknown) => (value instanceof Uint8Array ? new TextDecoder().decode(value) : value))).not.toMatch(/secret|session=abc/);
  });
});

describe('settling', () => {
  it('a final 4xx is failed (the server cached it too), a 5xx after the last retry stays pending', async () => {
    const store = memoryStore();
    server.use(
      answering('/v1/bad', () => HttpResponse.json({ error: 'bad_request' }, { status: 400 })).handler,
      answering('/v1/down', () => HttpResponse.json({ error: 'unavailable' }, { status: 503 })).handler,
    );
    const client = clientWith(store);
    await expect(client.post('v1/bad', { json: {}, idempotencyKey: 'a' })).rejects.toBeInstanceOf(HTTPError);
    await expect(client.post('v1/down', { json: {}, idempotencyKey: 'b' })).rejects.toBeInstanceOf(HTTPError);
    await client.flush();
    const states = Object.fromEntries((await store.list()).map((intent) => [intent.idempotencyKey, [intent.state, intent.attempts]]));
    expect(states).toEqual({ a: ['failed', 1], b: ['pending', 3] });
  });
});

describe('the same key again', () => {
  it('answers a finished payout from the journal after the server forgot the key', async () => {
    let applied = 0;
    server.use(answering('/v1/payouts', () => HttpResponse.json({ id: `po_${++applied}` }, { status: 201 })).handler);
    const client = clientWith(memoryStore());
    const first = await client.post('v1/payouts', { json: { amount: 1 }, idempotencyKey: 'payout-1' });
    const again = await client.post('v1/payouts', { json: { amount: 1 }, idempotencyKey: 'payout-1' });
    expect(applied).toBe(1);
    expect([again.status, again.replayed, again.attempts, again.idempotencyKey]).toEqual([201, true, 0, 'payout-1']);
    expect(await again.json()).toEqual(await first.json());
    expect(again.headers.get('content-type')).toContain('application/json');
  });

  it('a repeat while the first outcome is still being written is answered as the journal will answer it', async () => {
    const { handler, seen } = answering('/v1/payouts', () => HttpResponse.json({ id: 'po_1' }, { status: 201 }));
    server.use(handler);
    // Outcome writes wait until released: the window where a fast repeat meets the first call.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const inner = memoryStore();
    const store: IntentStore = { ...inner, get: inner.get.bind(inner), create: inner.create.bind(inner), claim: inner.claim.bind(inner), list: inner.list.bind(inner), compact: inner.compact.bind(inner), close: inner.close.bind(inner), update: async (...args) => (await held, inner.update(...args)) };
    const client = clientWith(store);
    const first = await client.post('v1/payouts', { json: { amount: 1 }, idempotencyKey: 'fast-repeat' });
    const again = await client.post('v1/payouts', { json: { amount: 1 }, idempotencyKey: 'fast-repeat' });
    release();
    await client.flush();
    expect([first.replayed, first.attempts]).toEqual([false, 1]);
    expect([again.status, again.replayed, again.attempts]).toEqual([201, true, 0]);
    expect(seen).toHaveLength(1);
  });

  it('repeats a failed answer’s error without a request', async () => {
    const { handler, seen } = answering('/v1/payouts', () => HttpResponse.json({ error: 'insufficient_funds' }, { status: 402 }));
    server.use(handler);
    const client = clientWith(memoryStore());
    const first = await client.post('v1/payouts', { json: {}, idempotencyKey: 'k' }).catch((caught: unknown) => caught);
    const second = await client.post('v1/payouts', { json: {}, idempotencyKey: 'k' }).catch((caught: unknown) => caught);
    expect(first).toBeInstanceOf(HTTPError);
    expect(second).toBeInstanceOf(HTTPError);
    expect((second as HTTPError).response.status).toBe(402);
    expect(seen).toHaveLength(1);
  });

  it.each([
    ['another body', { json: { amount: 2 } }, 'v1/payouts'],
    ['another query', { json: { amount: 1 }, searchParams: { currency: 'eur' } }, 'v1/payouts'],
  ])('with %s is an IdempotencyMismatchError before any request', async (_what, second, path) => {
    const { handler, seen } = answering('/v1/payouts', () => HttpResponse.json({}, { status: 201 }));
    server.use(handler);
    const client = clientWith(memoryStore());
    await client.post('v1/payouts', { json: { amount: 1 }, idempotencyKey: 'payout-1' });
    const error = await client.post(path, { ...second, idempotencyKey: 'payout-1' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdempotencyMismatchError);
    expect((error as IdempotencyMismatchError).idempotencyKey).toBe('payout-1');
    expect((error as IdempotencyMismatchError).status).toBeUndefined();
    expect(seen).toHaveLength(1);
  });

  it('on another route is another intent: only the server judges it (seed 001)', async () => {
    const first = answering('/v1/matches', () => HttpResponse.json({}, { status: 201 }));
    const second = answering('/v1/tickets', () => HttpResponse.json({}, { status: 201 }));
    server.use(first.handler, second.handler);
    const client = clientWith(memoryStore());
    await client.post('v1/matches', { json: { a: 1 }, idempotencyKey: 'shared' });
    await client.post('v1/tickets', { json: { b: 2 }, idempotencyKey: 'shared' });
    expect([first.seen.length, second.seen.length]).toEqual([1, 1]);
  });

  it('two concurrent calls with one key share one request', async () => {
    const { handler, seen } = answering('/v1/payouts', () => HttpResponse.json({ id: 'po_1' }, { status: 201 }));
    server.use(handler);
    const client = clientWith(memoryStore());
    const [a, b] = await Promise.all([
      client.post('v1/payouts', { json: { amount: 1 }, idempotencyKey: 'twin' }),
      client.post('v1/payouts', { json: { amount: 1 }, idempotencyKey: 'twin' }),
    ]);
    expect(seen).toHaveLength(1);
    expect(await a.json()).toEqual({ id: 'po_1' });
    expect(await b.json()).toEqual({ id: 'po_1' });
  });

  it('a concurrent twin with another body is a mismatch, not a second request', async () => {
    const { handler, seen } = answering('/v1/payouts', () => HttpResponse.json({}, { status: 201 }));
    server.use(handler);
    const client = clientWith(memoryStore());
    const [a, b] = await Promise.allSettled([
      client.post('v1/payouts', { json: { amount: 1 }, idempotencyKey: 'twin' }),
      client.post('v1/payouts', { json: { amount: 2 }, idempotencyKey: 'twin' }),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b.status === 'rejected' && b.reason).toBeInstanceOf(IdempotencyMismatchError);
    expect(seen).toHaveLength(1);
  });

  it('the journal partitions by scope: two tenants may use one key', async () => {
    const { handler, seen } = answering('/v1/payouts', () => HttpResponse.json({}, { status: 201 }));
    server.use(handler);
    const store = memoryStore();
    await createClient({ prefix: ORIGIN, store, scope: 'tenant-1' }).post('v1/payouts', { json: { a: 1 }, idempotencyKey: 'k' });
    await createClient({ prefix: ORIGIN, store, scope: 'tenant-2' }).post('v1/payouts', { json: { a: 2 }, idempotencyKey: 'k' });
    expect(seen).toHaveLength(2);
    expect((await store.list({ scope: 'tenant-1' })).map((intent) => intent.scope)).toEqual(['tenant-1']);
  });
});
