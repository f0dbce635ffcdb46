import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createClient, memoryStore, NetworkError, TimeoutError, type ClientOptions, type IntentStore } from '../src/index.js';
import { type RawRequest, useRawServer } from './support/raw-server.js';

const server = useRawServer();

/** Headers at once, then one byte of a 100-byte body every 200 ms: the whole body would take 20 s. */
function trickle(_request: RawRequest, res: ServerResponse) {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
  const timer = setInterval(() => res.write('x'), 200);
  res.on('close', () => clearInterval(timer));
}

/** Headers at once, then nothing, the socket held open. */
function stall(_request: RawRequest, res: ServerResponse) {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '20' });
  res.flushHeaders();
}

/** A 503 that asks for a wait far longer than the call may take. */
function unavailable(_request: RawRequest, res: ServerResponse) {
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '30' });
  res.end('{"error":"service_unavailable"}');
}

const api = (store: IntentStore, options: ClientOptions) => createClient({ prefix: server.url, store, ...options });

async function storedIntent(store: IntentStore) {
  const [summary] = await store.list();
  return store.get(summary!.scope, summary!.id);
}

/** Well short of how long the server would take: a detector of a hang, not a measurement. */
const LONG_BEFORE_THE_SERVER_ENDS = 10_000;

describe('the per-attempt timeout covers the body, not only the headers', () => {
  it.each([
    ['trickles its body one byte at a time', trickle],
    ['stalls after the headers', stall],
  ])('an answer that %s ends the attempt by timeout; the retry uses the same key, then the intent stays pending', async (_name, answer) => {
    server.answer(answer);
    const store = memoryStore();
    const reasons: string[] = [];
    const startedAt = Date.now();
    const call = api(store, { timeout: 1_000, retry: { limit: 1, delay: () => 0 }, on: { retry: (event) => void reasons.push(event.reason) } })
      .post('v1/payouts', { json: { amount: 5 }, idempotencyKey: 'slow-body' });

    await expect(call).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - startedAt).toBeLessThan(LONG_BEFORE_THE_SERVER_ENDS);
    expect(reasons).toEqual(['timeout']);
    expect(server.requests.map((request) => request.headers['idempotency-key'])).toEqual(['slow-body', 'slow-body']);
    expect(await storedIntent(store)).toMatchObject({ state: 'pending', attempts: 2, owner: null });
  });

  it('the timeout error names the request without its secret query values', async () => {
    server.answer(stall);
    const error = await api(memoryStore(), { timeout: 300, retry: { limit: 0 } })
      .post('v1/payouts', { json: {}, searchParams: { token: 'tok_in_query' } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(String(error)).not.toContain('tok_in_query');
  });
});

describe('an answer cut off mid-body', () => {
  /** Headers and half the body, then the socket is destroyed. */
  function cutOff(_request: RawRequest, res: ServerResponse) {
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': '40' });
    res.write('{"id":"po_1",', () => res.socket?.destroy());
  }

  it('is a network error: retried with the same key, and the next whole answer is the one handed back', async () => {
    let answered = 0;
    server.answer((request, res) => (answered++ === 0 ? cutOff(request, res) : res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":"po_1"}')));
    const reasons: string[] = [];
    const response = await api(memoryStore(), { retry: { limit: 1, delay: () => 0 }, on: { retry: (event) => void reasons.push(event.reason) } })
      .post('v1/payouts', { json: { amount: 5 }, idempotencyKey: 'cut-off' });
    expect(await response.json()).toEqual({ id: 'po_1' });
    expect(reasons).toEqual(['network error']);
    expect(server.requests.map((request) => request.headers['idempotency-key'])).toEqual(['cut-off', 'cut-off']);
  });

  it('with no retry left, the call fails with a NetworkError and the intent stays pending', async () => {
    server.answer(cutOff);
    const store = memoryStore();
    await expect(api(store, { retry: { limit: 0 } }).post('v1/payouts', { json: { amount: 5 } })).rejects.toBeInstanceOf(NetworkError);
    expect(await storedIntent(store)).toMatchObject({ state: 'pending', attempts: 1, owner: null });
  });
});

describe('totalTimeout bounds a whole call, retries and waits included', () => {
  it('a server that keeps answering 503 with a long Retry-After: the call ends by timeout, the intent pending', async () => {
    server.answer(unavailable);
    const store = memoryStore();
    const startedAt = Date.now();
    const call = api(store, { timeout: false, totalTimeout: 1_000, retry: { limit: 5 } }).post('v1/payouts', { json: { amount: 5 } });

    await expect(call).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - startedAt).toBeLessThan(LONG_BEFORE_THE_SERVER_ENDS);
    expect(server.requests).toHaveLength(1);
    expect(await storedIntent(store)).toMatchObject({ state: 'pending', attempts: 1, owner: null });
  });

  it('a start-up recover() against a stalling server returns, the intent still pending, however long the server stalls', async () => {
    const store = memoryStore();
    server.answer((_request, res) => res.socket?.destroy());
    await expect(api(store, { retry: { limit: 0 } }).post('v1/payouts', { json: { amount: 5 }, idempotencyKey: 'at-start-up' })).rejects.toThrow();
    server.answer(stall);

    // No per-attempt limit: totalTimeout alone must end it.
    const outcomes = await api(store, { timeout: false, totalTimeout: 1_000, retry: { limit: 3, delay: () => 0 } }).recover();
    expect(outcomes.map((outcome) => [outcome.idempotencyKey, outcome.state])).toEqual([['at-start-up', 'pending']]);
    expect(outcomes[0]?.error).toBeInstanceOf(TimeoutError);
    expect(await storedIntent(store)).toMatchObject({ state: 'pending', attempts: 2, owner: null });
  });
});
