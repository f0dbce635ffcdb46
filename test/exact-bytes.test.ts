import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createClient, IdempotencyMismatchError, memoryStore, type ClientOptions, type IntentStore } from '../src/index.js';
import { created, type RawRequest, useRawServer } from './support/raw-server.js';

const server = useRawServer();

const api = (store: IntentStore = memoryStore(), options: ClientOptions = {}) =>
  createClient({ prefix: server.url, store, retry: { limit: 2, delay: () => 0 }, timeout: 5_000, ...options });

/** The first request's connection is dropped once its body has arrived (`beforeDrop` runs first); later ones are answered. */
function dropFirst(beforeDrop: () => void = () => {}) {
  server.answer((request: RawRequest, res: ServerResponse) => {
    if (server.requests.length > 1) return created(request, res);
    beforeDrop();
    res.socket?.destroy();
  });
}

const bodies = () => server.requests.map((request) => [...request.body]);

describe('the bytes sent are the bytes of the call, on every attempt', () => {
  it('a Uint8Array the caller changes after the call started is retried with its original bytes, which the journal holds', async () => {
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => i);
    const original = [...bytes];
    // Changed once right after the call starts, and again while the first attempt is on the wire.
    dropFirst(() => bytes.fill(0xee));
    const store = memoryStore();
    const call = api(store).post('v1/upload', { body: bytes, idempotencyKey: 'upload-1' });
    bytes.fill(0xff);
    const response = await call;

    expect(response.attempts).toBe(2);
    expect(bodies()).toEqual([original, original]);
    const [journaled] = await store.list();
    expect([...((await store.get(journaled!.scope, journaled!.id))?.body ?? [])]).toEqual(original);
  });

  it('a FormData re-run with the same key and entries is no mismatch: the stored bytes go again, with the stored boundary', async () => {
    const form = () => {
      const data = new FormData();
      data.append('amount', '500');
      data.append('receipt', new File([new Uint8Array([0, 1, 2, 250])], 'receipt.bin', { type: 'application/octet-stream' }));
      return data;
    };
    const store = memoryStore();
    server.answer((_request, res) => res.socket?.destroy());
    await expect(api(store, { retry: { limit: 0 } }).post('v1/forms', { body: form(), idempotencyKey: 'form-1' })).rejects.toThrow();
    server.answer(created);

    const response = await api(store).post('v1/forms', { body: form(), idempotencyKey: 'form-1' });
    expect(response.status).toBe(201);
    const [first, second] = server.requests;
    expect(second?.body.equals(first!.body)).toBe(true);
    expect(second?.headers['content-type']).toBe(first?.headers['content-type']);
    expect(first?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    // The server can read what it got: the boundary in the header is the one in the bytes.
    const parsed = await new Response(new Uint8Array(second!.body), { headers: { 'content-type': second!.headers['content-type']! } }).formData();
    expect(parsed.get('amount')).toBe('500');
    expect([...new Uint8Array(await (parsed.get('receipt') as File).arrayBuffer())]).toEqual([0, 1, 2, 250]);
  });

  it.each([
    ['the default persistHeaders', {}],
    ['a persistHeaders list without content-type', { persistHeaders: ['x-tenant'] }],
  ])('recover() resends a FormData with the boundary of its stored bytes, under %s', async (_name, options) => {
    const data = new FormData();
    data.append('amount', '500');
    const store = memoryStore();
    server.answer((_request, res) => res.socket?.destroy());
    await expect(api(store, { retry: { limit: 0 }, ...options }).post('v1/forms', { body: data })).rejects.toThrow();
    server.answer(created);

    expect((await api(store, options).recover()).map((outcome) => outcome.state)).toEqual(['succeeded']);
    const [first, resent] = server.requests;
    expect(resent?.body.equals(first!.body)).toBe(true);
    expect(resent?.headers['content-type']).toBe(first?.headers['content-type']);
    const parsed = await new Response(new Uint8Array(resent!.body), { headers: { 'content-type': resent!.headers['content-type']! } }).formData();
    expect(parsed.get('amount')).toBe('500');
  });

  it('a FormData re-run with other entries under the same key is a mismatch, and nothing is sent', async () => {
    const store = memoryStore();
    const form = (amount: string) => {
      const data = new FormData();
      data.append('amount', amount);
      return data;
    };
    server.answer((_request, res) => res.socket?.destroy());
    await expect(api(store, { retry: { limit: 0 } }).post('v1/forms', { body: form('500'), idempotencyKey: 'form-2' })).rejects.toThrow();
    server.reset();
    await expect(api(store).post('v1/forms', { body: form('501'), idempotencyKey: 'form-2' })).rejects.toBeInstanceOf(IdempotencyMismatchError);
    expect(server.requests).toEqual([]);
  });

  const backing = new Float32Array([1.5, -2.25, 3, 1e-7, 42]);
  const buffer = Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2, 1]).buffer;
  it.each<[string, () => BodyInit, Uint8Array, string | undefined]>([
    ['a string', () => 'héllo ☃', new TextEncoder().encode('héllo ☃'), 'text/plain;charset=UTF-8'],
    ['an ArrayBuffer', () => buffer, new Uint8Array(buffer), undefined],
    ['a Float32Array over part of its buffer', () => backing.subarray(1, 4), new Uint8Array(backing.buffer, 4, 12), undefined],
    ['a DataView over part of its buffer', () => new DataView(buffer, 2, 5), new Uint8Array(buffer, 2, 5), undefined],
    ['a Blob', () => new Blob([new Uint8Array([0, 255, 128]), 'tail'], { type: 'application/x-thing' }), Uint8Array.from([0, 255, 128, 116, 97, 105, 108]), 'application/x-thing'],
    ['a File', () => new File([new Uint8Array([1, 0, 1])], 'a.bin', { type: 'application/octet-stream' }), Uint8Array.from([1, 0, 1]), 'application/octet-stream'],
    ['URLSearchParams', () => new URLSearchParams({ amount: '5 €', note: 'a&b=c' }), new TextEncoder().encode('amount=5+%E2%82%AC&note=a%26b%3Dc'), 'application/x-www-form-urlencoded;charset=UTF-8'],
  ])('%s reaches the server byte for byte, on the first attempt and on the retry', async (_name, body, expected, contentType) => {
    dropFirst();
    await api().post('v1/upload', { body: body() });
    expect(bodies()).toEqual([[...expected], [...expected]]);
    for (const request of server.requests) expect(request.headers['content-type']).toBe(contentType);
  });
});

describe('json is encoded as JSON, or refused before any I/O', () => {
  it.each([
    ['a function', { amount: 5, callback: () => 1 }],
    ['a symbol', { amount: 5, tag: Symbol('tag') }],
    ['a function at the top', () => 1],
    ['a symbol in an array', [1, Symbol('x')]],
  ])('`json` holding %s is a TypeError; nothing is journaled or sent', async (_name, json) => {
    const store = memoryStore();
    await expect(api(store).post('v1/payouts', { json })).rejects.toThrow(TypeError);
    expect(await store.list()).toEqual([]);
    expect(server.requests).toEqual([]);
  });

  it('an explicit application/merge-patch+json content type is kept', async () => {
    await api().patch('v1/things/1', { json: { name: null }, headers: { 'content-type': 'application/merge-patch+json' } });
    expect(server.requests[0]?.headers['content-type']).toBe('application/merge-patch+json');
    expect(server.requests[0]?.body.toString()).toBe('{"name":null}');
  });

  it('`json` without a content type is sent as application/json', async () => {
    await api().post('v1/payouts', { json: { amount: 1 } });
    expect(server.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('values with toJSON (a Date) and nested arrays are encoded exactly as JSON.stringify does', async () => {
    const json = { at: new Date(0), amounts: [[1, 2], { currency: 'usd' }], memo: null };
    await api().post('v1/payouts', { json });
    expect(server.requests[0]?.body.toString()).toBe(JSON.stringify(json));
  });

  it('a beforeRequest hook reads the body that is sent, and the journaled bytes are what goes out', async () => {
    const seen: string[] = [];
    const hooks = { beforeRequest: [async ({ request }: { request: Request }) => void seen.push(await request.clone().text())] };
    dropFirst();
    await api(memoryStore(), { hooks }).post('v1/payouts', { json: { amount: 7 } });
    expect(seen).toEqual(['{"amount":7}', '{"amount":7}']);
    expect(server.requests.map((request) => request.body.toString())).toEqual(['{"amount":7}', '{"amount":7}']);
  });
});
