import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { MAX_REDIRECTS } from '../src/attempt.js';
import { createClient, IdempotencyError, IdempotencyRedirectError, memoryStore, type ClientOptions, type IntentStore, type RecoveryOutcome } from '../src/index.js';
import { makeIntent } from '../src/testing/intents.js';
import { created, useRawServer } from './support/raw-server.js';

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

describe('a redirect never takes a write, its key or its credentials anywhere the client did not send it', () => {
  /** Host A answers every write to `path` with `status` and a Location; everything else as usual. */
  const redirecting = (path: string, status: number, location: string) =>
    hostA.answer((request, res) => {
      if (request.path !== path) return created(request, res);
      res.writeHead(status, { location, 'content-type': 'text/plain' });
      res.end('moved');
    });

  const credentials = { Authorization: 'Bearer tok_A', 'X-Api-Key': 'key_A' };
  const payout = { json: { amount: 700 }, idempotencyKey: 'payout-r' };

  async function journaled(store: IntentStore) {
    const [summary] = await store.list();
    return store.get(summary!.scope, summary!.id);
  }

  it.each([307, 308])('a %i to another origin ends the call with IdempotencyRedirectError: host B receives nothing, retries send nothing more, the intent stays pending', async (status) => {
    const store = memoryStore();
    redirecting('/v1/payouts', status, `${hostB.url}/v1/payouts?token=sk_in_location&region=eu`);
    const api = apiOn(hostA.url, store, { headers: credentials, retry: { limit: 2, delay: () => 0 } });

    const error = await api.post('v1/payouts', payout).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdempotencyRedirectError);
    expect(error).toBeInstanceOf(IdempotencyError);
    const redirect = error as IdempotencyRedirectError;
    expect(redirect).toMatchObject({ status, idempotencyKey: 'payout-r', location: `${hostB.url}/v1/payouts?token=***&region=eu` });
    expect(redirect.message).toContain(hostB.url);
    expect(redirect.message).not.toContain('sk_in_location');
    expect(hostA.requests.map((request) => request.method)).toEqual(['POST']);
    expect(hostB.requests).toEqual([]);
    await api.flush();
    expect(await journaled(store)).toMatchObject({ state: 'pending', owner: null, attempts: 1 });
    expect((await journaled(store))?.response).toBeUndefined();
  });

  it('the same with hooks, when the attempt goes through ky: host B receives nothing', async () => {
    const store = memoryStore();
    redirecting('/v1/payouts', 307, `${hostB.url}/v1/payouts`);
    const hooked: string[] = [];
    const api = apiOn(hostA.url, store, {
      headers: credentials,
      hooks: { beforeRequest: [({ request }) => void hooked.push(`${request.method} ${request.url}`)] },
    });

    await expect(api.post('v1/payouts', payout)).rejects.toBeInstanceOf(IdempotencyRedirectError);
    expect(hooked).toEqual([`POST ${hostA.url}/v1/payouts`]);
    expect(hostA.requests).toHaveLength(1);
    expect(hostB.requests).toEqual([]);
  });

  it.each([301, 302, 303])('a %i is never turned into a GET, even on the same origin: the typed error, nothing journaled as success', async (status) => {
    const store = memoryStore();
    redirecting('/v1/payouts', status, '/v1/payouts/done');
    const api = apiOn(hostA.url, store, { headers: credentials, retry: { limit: 2, delay: () => 0 } });

    const error = await api.post('v1/payouts', payout).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdempotencyRedirectError);
    expect(error).toMatchObject({ status, location: `${hostA.url}/v1/payouts/done` });
    expect(hostA.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['POST /v1/payouts']);
    expect(hostB.requests).toEqual([]);
    await api.flush();
    expect(await journaled(store)).toMatchObject({ state: 'pending' });
  });

  it.each([307, 308])('a same-origin %i is followed within the attempt, with the journaled bytes, the key and the credentials', async (status) => {
    const store = memoryStore();
    redirecting('/v1/payouts', status, '/v2/payouts');
    const api = apiOn(hostA.url, store, { headers: credentials });

    const response = await api.post('v1/payouts', { body: new Uint8Array([0x7b, 0x7d, 0x00, 0xff]), headers: { 'content-type': 'application/octet-stream' }, idempotencyKey: 'payout-r' });
    expect([response.status, response.attempts]).toEqual([201, 1]);
    expect(hostA.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['POST /v1/payouts', 'POST /v2/payouts']);
    for (const request of hostA.requests) {
      expect([...request.body]).toEqual([0x7b, 0x7d, 0x00, 0xff]);
      expect(request.headers).toMatchObject({ 'idempotency-key': 'payout-r', authorization: 'Bearer tok_A', 'x-api-key': 'key_A', 'content-type': 'application/octet-stream' });
    }
    expect(hostB.requests).toEqual([]);
    await api.flush();
    expect(await journaled(store)).toMatchObject({ state: 'succeeded', url: `${hostA.url}/v1/payouts` });
  });

  it('a same-origin hop that leads on to another origin is stopped there: host B receives nothing', async () => {
    const store = memoryStore();
    hostA.answer((request, res) => {
      res.writeHead(307, { location: request.path === '/v1/payouts' ? '/v2/payouts' : `${hostB.url}/v2/payouts` });
      res.end();
    });
    await expect(apiOn(hostA.url, store).post('v1/payouts', payout)).rejects.toMatchObject({ name: 'IdempotencyRedirectError', location: `${hostB.url}/v2/payouts` });
    expect(hostA.requests.map((request) => request.path)).toEqual(['/v1/payouts', '/v2/payouts']);
    expect(hostB.requests).toEqual([]);
  });

  it('a redirect loop, and a chain longer than MAX_REDIRECTS, end the call with the typed error after a bounded number of requests', async () => {
    hostA.answer((request, res) => {
      res.writeHead(307, { location: request.path === '/v1/a' ? '/v1/b' : '/v1/a' });
      res.end();
    });
    await expect(apiOn(hostA.url, memoryStore()).post('v1/a', payout)).rejects.toThrow(/redirect loop/);
    expect(hostA.requests.map((request) => request.path)).toEqual(['/v1/a', '/v1/b']);

    hostA.reset();
    hostA.answer((request, res) => {
      res.writeHead(308, { location: `${request.path}x` });
      res.end();
    });
    await expect(apiOn(hostA.url, memoryStore()).post('v1/n', payout)).rejects.toThrow(new RegExp(`more than ${MAX_REDIRECTS} redirects`));
    expect(hostA.requests).toHaveLength(MAX_REDIRECTS + 1);
  });

  it('a Location with credentials in it is not followed, and not shown with them', async () => {
    const port = new URL(hostA.url).port;
    redirecting('/v1/payouts', 307, `http://user:pa55word@127.0.0.1:${port}/v2/payouts`);
    const error = await apiOn(hostA.url, memoryStore()).post('v1/payouts', payout).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'IdempotencyRedirectError', location: `${hostA.url}/v2/payouts` });
    expect(String((error as Error).message)).not.toMatch(/pa55word|\/\/user/);
    expect(hostA.requests).toHaveLength(1);
  });

  it('recover() meets the same redirect: it sends to host A only, reports the typed error, and leaves the intent pending', async () => {
    const store = memoryStore();
    await leavePending(hostA, apiOn(hostA.url, store), 'payout-r');
    redirecting('/v1/payouts', 307, `${hostB.url}/v1/payouts`);

    // Even a client whose origins include host B never follows a redirect there: a Location is no origin the client chose.
    const recovering = apiOn(hostA.url, store, { origins: [hostA.url, hostB.url], headers: credentials });
    const [outcome] = await recovering.recover();
    expect(outcome).toMatchObject({ idempotencyKey: 'payout-r', state: 'pending' });
    expect(outcome?.error).toBeInstanceOf(IdempotencyRedirectError);
    expect(hostA.requests).toHaveLength(1);
    expect(hostB.requests).toEqual([]);
    expect((await recovering.pending()).map((intent) => [intent.idempotencyKey, intent.state])).toEqual([['payout-r', 'pending']]);
  });
});
