import { describe, expect, expectTypeOf, it } from 'vitest';
import * as durableFetch from '../src/index.js';
import {
  createClient,
  HTTPError,
  IdempotencyConflictError,
  IdempotencyError,
  IdempotencyKeyExpiredError,
  IdempotencyKeyInvalidError,
  IdempotencyMismatchError,
  IdempotencyStoreError,
  memoryStore,
  RetryBudgetError,
  type DurableResponse,
} from '../src/index.js';
import { answering, http, HttpResponse, ORIGIN, useMsw } from './support/msw.js';

const server = useMsw();
const api = () => createClient({ prefix: ORIGIN, store: memoryStore(), retry: { limit: 0 } });

describe('the public surface of SPEC.md', () => {
  it('exports createClient, memoryStore, the error classes and ky’s HTTPError', () => {
    for (const name of [
      'createClient', 'memoryStore', 'HTTPError', 'IdempotencyError', 'IdempotencyMismatchError',
      'IdempotencyConflictError', 'IdempotencyKeyInvalidError', 'IdempotencyKeyExpiredError', 'IdempotencyStoreError', 'RetryBudgetError',
    ]) {
      expect(durableFetch).toHaveProperty(name);
    }
  });

  it('exports the helpers a store author builds on, from every entry', () => {
    for (const name of ['intentId', 'isClaimable', 'isCompactable', 'isKnownState', 'UNSETTLED_STATES', 'rebased', 'applyChange', 'applyClaim', 'isExpiredAtClaim', 'checkPayloads', 'PayloadTooLargeError']) {
      expect(durableFetch).toHaveProperty(name);
    }
  });

  it('every idempotency error is an IdempotencyError carrying key, status, code and response', () => {
    const response = new Response('{}', { status: 409 });
    for (const ErrorClass of [IdempotencyMismatchError, IdempotencyConflictError, IdempotencyKeyInvalidError, IdempotencyKeyExpiredError, IdempotencyStoreError]) {
      const error = new ErrorClass('what happened', { idempotencyKey: 'k', status: 409, code: 'c', response });
      expect(error).toBeInstanceOf(IdempotencyError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(ErrorClass.name);
      expect({ key: error.idempotencyKey, status: error.status, code: error.code, response: error.response }).toEqual({ key: 'k', status: 409, code: 'c', response });
    }
    const cause = new Error('503');
    const stopped = new RetryBudgetError('budget spent', { idempotencyKey: 'k', origin: 'https://api.example.com', cause });
    expect(stopped).toBeInstanceOf(IdempotencyError);
    expect([stopped.name, stopped.idempotencyKey, stopped.origin, stopped.cause]).toEqual(['RetryBudgetError', 'k', 'https://api.example.com', cause]);
  });

  it('a client has post/put/patch/delete keyed, get/head plain, pending and recover', () => {
    const client = api();
    for (const verb of ['post', 'put', 'patch', 'delete', 'get', 'head', 'pending', 'recover'] as const) {
      expect(typeof client[verb]).toBe('function');
    }
  });
});

describe('a keyed write', () => {
  it('resolves to a standard Response with idempotencyKey, replayed and attempts', async () => {
    const { handler, seen } = answering('/v1/payouts', () => HttpResponse.json({ id: 'po_1' }, { status: 201 }));
    server.use(handler);
    const response = await api().post('v1/payouts', { json: { amount: 500 } });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ id: 'po_1' });
    expect(response.idempotencyKey).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(response.replayed).toBe(false);
    expect(response.attempts).toBe(1);
    expect(seen).toEqual([{ method: 'POST', key: response.idempotencyKey, body: '{"amount":500}' }]);
    expectTypeOf(response).toMatchTypeOf<DurableResponse>();
  });

  it('uses the key given, and a fresh UUID for each call otherwise', async () => {
    const { handler, seen } = answering('/v1/payouts', () => HttpResponse.json({}, { status: 201 }));
    server.use(handler);
    const client = api();
    await client.post('v1/payouts', { json: { n: 1 }, idempotencyKey: 'payout-1' });
    await client.post('v1/payouts', { json: { n: 2 } });
    await client.post('v1/payouts', { json: { n: 3 } });
    expect(seen[0]?.key).toBe('payout-1');
    expect(seen[1]?.key).not.toBe(seen[2]?.key);
  });

  it('offers ky’s .json() shortcut', async () => {
    server.use(answering('/v1/payouts', () => HttpResponse.json({ id: 'po_2' }, { status: 201 })).handler);
    const body = await api().post('v1/payouts', { json: { amount: 1 } }).json<{ id: string }>();
    expect(body).toEqual({ id: 'po_2' });
  });

  it('its .text() and .json() shortcuts read the answer (an empty one as \'\'), and leave the response readable', async () => {
    server.use(answering('/v1/payouts', () => HttpResponse.text('{"id":"po_3","note":"\u00e9t\u00e9"}', { status: 201 })).handler);
    server.use(answering('/v1/empty', () => new HttpResponse(null, { status: 204 })).handler);
    const client = api();
    const call = client.post('v1/payouts', { json: {} });
    await expect(call.text()).resolves.toBe('{"id":"po_3","note":"été"}');
    await expect(call.json()).resolves.toEqual({ id: 'po_3', note: 'été' });
    await expect((await call).text()).resolves.toBe('{"id":"po_3","note":"été"}');
    await expect(client.post('v1/empty', { json: {} }).json()).resolves.toBe('');
    // Once the caller has read the body itself, a shortcut says so, as ky's would.
    const read = client.post('v1/payouts', { json: {} });
    await (await read).text();
    await expect(read.text()).rejects.toThrow(TypeError);
  });

  it('has every shortcut ky 2 has — json, text, arrayBuffer, blob, bytes, formData — each reading the answer and leaving the response readable', async () => {
    const form = new URLSearchParams({ id: 'po_5', note: 'été' }).toString();
    server.use(answering('/v1/payouts', () => HttpResponse.text(form, { status: 201, headers: { 'content-type': 'application/x-www-form-urlencoded' } })).handler);
    const call = api().post('v1/payouts', { json: {} });
    const expected = new TextEncoder().encode(form);
    await expect(call.bytes()).resolves.toEqual(expected);
    const bytes = await call.bytes();
    bytes[0] = 0;
    await expect(call.bytes()).resolves.toEqual(expected);
    expect(new Uint8Array(await call.arrayBuffer())).toEqual(expected);
    const blob = await call.blob();
    expect([blob.type, await blob.text()]).toEqual(['application/x-www-form-urlencoded', form]);
    expect(Object.fromEntries(await call.formData())).toEqual({ id: 'po_5', note: 'été' });
    await expect(call.text()).resolves.toBe(form);
    await expect((await call).text()).resolves.toBe(form);
    await expect(call.bytes()).rejects.toThrow(TypeError);
  });

  it('its promise is a Promise that resolves to one Response, however often it is awaited, before or after a shortcut', async () => {
    server.use(answering('/v1/payouts', () => HttpResponse.json({ id: 'po_4' }, { status: 201 })).handler);
    const call = api().post('v1/payouts', { json: {} });
    expect(call).toBeInstanceOf(Promise);
    await expect(call.json()).resolves.toEqual({ id: 'po_4' });
    const response = await call;
    expect(await call).toBe(response);
    expect(await Promise.all([call, call.then((again) => again)])).toEqual([response, response]);
    expect(await response.json()).toEqual({ id: 'po_4' });
  });

  it('a failing call read only through a shortcut rejects there, and leaves no rejection unhandled', async () => {
    server.use(answering('/v1/payouts', () => HttpResponse.json({ error: 'bad_request' }, { status: 400 })).handler);
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      await expect(api().post('v1/payouts', { json: {} }).json()).rejects.toBeInstanceOf(HTTPError);
      await expect(api().post('v1/payouts', { json: {} }).text()).rejects.toBeInstanceOf(HTTPError);
      // Node reports an unhandled rejection once the microtask queue has drained: one turn of the loop.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', record);
    }
    expect(unhandled).toEqual([]);
  });

  it('put, patch and delete are keyed like post', async () => {
    const { handler, seen } = answering('/v1/things/1', () => HttpResponse.json({}));
    server.use(handler);
    const client = api();
    await client.put('v1/things/1', { json: { a: 1 } });
    await client.patch('v1/things/1', { json: { a: 2 } });
    await client.delete('v1/things/1');
    expect(seen.map((request) => request.method)).toEqual(['PUT', 'PATCH', 'DELETE']);
    expect(seen.every((request) => typeof request.key === 'string' && request.key.length > 0)).toBe(true);
  });

  it('sends body, headers and searchParams as given', async () => {
    let received: Request | undefined;
    server.use(http.post(`${ORIGIN}/v1/upload`, ({ request }) => {
      received = request.clone();
      return HttpResponse.json({}, { status: 201 });
    }));
    await api().post('v1/upload', { body: 'raw text', headers: { 'x-trace': 't1' }, searchParams: { dry: true } });
    expect(received?.url).toBe(`${ORIGIN}/v1/upload?dry=true`);
    expect(received?.headers.get('x-trace')).toBe('t1');
    expect(await received?.text()).toBe('raw text');
  });

  it('rejects with HTTPError (plus the key) for a plain non-2xx, or resolves with it when throwHttpErrors is false', async () => {
    server.use(answering('/v1/payouts', () => HttpResponse.json({ error: 'not_found' }, { status: 404 })).handler);
    const error = await api().post('v1/payouts', { json: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HTTPError);
    expect((error as HTTPError).message).toContain('404');
    expect((error as HTTPError & { idempotencyKey: string }).idempotencyKey).toEqual(expect.any(String));
    const response = await createClient({ prefix: ORIGIN, store: memoryStore(), throwHttpErrors: false }).post('v1/payouts', { json: {} });
    expect(response.status).toBe(404);
  });
});

describe('plain reads', () => {
  it('get and head are never keyed and never journaled', async () => {
    const { handler, seen } = answering('/v1/payouts', () => HttpResponse.json([{ id: 1 }]));
    server.use(handler);
    const store = memoryStore();
    const client = createClient({ prefix: ORIGIN, store });
    expect(await client.get('v1/payouts').json()).toEqual([{ id: 1 }]);
    expect((await client.head('v1/payouts')).status).toBe(200);
    expect(seen.map((request) => [request.method, request.key])).toEqual([['GET', null], ['HEAD', null]]);
    expect(await store.list()).toEqual([]);
  });
});

describe('options are checked at creation', () => {
  it.each([
    [{ persistHeaders: ['content-type', 'Authorization'] }, /credentials/],
    [{ persistHeaders: ['cookie'] }, /credentials/],
    [{ timeout: -1 }, /timeout/],
    [{ keyTtlMs: 0 }, /keyTtlMs/],
    [{ maxKeyLength: Number.NaN }, /maxKeyLength/],
    [{ retry: { limit: -1 } }, /retry.limit/],
    [{ keyFormat: 'quoted' as never }, /keyFormat/],
    [{ prefix: 'https://user:pass@api.example.com/' }, /prefix must not carry credentials/],
    [{ baseUrl: 42 as never }, /baseUrl/],
    [{ timeout: 3e9 }, /timeout.*2147483647/],
    [{ totalTimeout: 1.5 }, /totalTimeout/],
    [{ keyTtlMs: Number.POSITIVE_INFINITY }, /keyTtlMs/],
    [{ leaseMs: 0 }, /leaseMs/],
    [{ keyHeader: 'Bad Header' }, /keyHeader must be an HTTP header name/],
    [{ persistHeaders: ['x-functions-key'] }, /credentials/],
    [{ persistHeaders: ['ocp-apim-subscription-key'] }, /credentials/],
    [{ persistHeaders: ['x-auth-key'] }, /credentials/],
    [{ origins: ['not an origin'] }, /origins/],
    [{ retry: { limit: Number.POSITIVE_INFINITY } }, /retry.limit/],
    [{ retry: { delay: 5 as never } }, /retry.delay/],
    [{ fetch: 'fetch' as never }, /fetch must be a function/],
    [{ on: 'log' as never }, /on must be an object/],
    [{ scope: '' }, /scope/],
    [{ scope: 42 as never }, /scope must be a non-empty string/],
    [{ secretParams: 'token' as never }, /secretParams must be an array/],
    [{ secretParams: ['token', ''] }, /secretParams must be an array of non-empty strings/],
    [{ replayHeaders: 'x-replayed' as never }, /replayHeaders must be an array/],
    [{ replayHeaders: ['x replayed'] }, /replayHeaders must be an HTTP header name/],
    [{ persistHeaders: ['stripe account'] }, /persistHeaders must be an HTTP header name/],
    [{ persistHeaders: 'content-type' as never }, /persistHeaders must be an array/],
    [{ classify: { mismatch: true } as never }, /classify must be a function/],
    [{ hooks: 'beforeRequest' as never }, /hooks must be an object/],
    [{ store: {} as never }, /store must be an IntentStore/],
    [{ store: { create: async () => undefined } as never }, /store must be an IntentStore/],
    [{ keyHeader: '' }, /keyHeader must be an HTTP header name/],
    [{ maxKeyLength: 0 }, /maxKeyLength/],
    [{ maxKeyLength: 65_537 }, /maxKeyLength/],
    [{ leaseMs: 1.5 }, /leaseMs/],
    [{ origins: 'https://api.example.com' as never }, /origins must be an array/],
    [{ origins: ['file:///tmp/api'] }, /origins must be a list of origins/],
    [{ throwHttpErrors: 'no' as never }, /throwHttpErrors must be a boolean/],
    [{ retry: { backoffLimit: -1 } }, /retry.backoffLimit/],
    [{ retry: { maxRetryAfter: Number.NaN } }, /retry.maxRetryAfter/],
    [{ retry: 'often' as never }, /retry must be a number or an object/],
    [{ totalTimeout: 0 }, /totalTimeout/],
    [{ headers: { 'bad header': 'x' } }, /headers/],
    [{ on: { attempt: 'log' } as never }, /on.attempt must be a function/],
    [{ prefixUrl: 'https://api.example.com/' } as never, /prefixUrl.*prefix/],
  ])('%o is refused with a TypeError', (options, message) => {
    expect(() => createClient({ store: memoryStore(), ...options })).toThrow(TypeError);
    expect(() => createClient({ store: memoryStore(), ...options })).toThrow(message);
  });
});
