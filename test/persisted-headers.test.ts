import { describe, expect, it } from 'vitest';
import { createClient, memoryStore, type ClientOptions, type IntentStore } from '../src/index.js';
import { useRawServer } from './support/raw-server.js';

const server = useRawServer();

const platform = (store: IntentStore, options: ClientOptions = {}) =>
  createClient({ prefix: server.url, store, headers: { Authorization: 'Bearer sk_platform' }, retry: { limit: 0 }, ...options });

/** A payout on a connected account whose answer is lost: pending, for a later recover(). */
async function payoutLeftPending(store: IntentStore, callOptions: { persistHeaders?: string[] }, options: ClientOptions = {}) {
  server.answer((_request, res) => res.socket?.destroy());
  await expect(
    platform(store, options).post('v1/payouts', { json: { amount: 500 }, headers: { 'Stripe-Account': 'acct_1', 'Stripe-Version': '2026-01-01' }, ...callOptions }),
  ).rejects.toThrow();
  server.reset();
}

describe('per-call persistHeaders are kept with the intent, besides the client’s', () => {
  it('recover() resends a payout made on a connected account with its Stripe-Account header', async () => {
    const store = memoryStore();
    await payoutLeftPending(store, { persistHeaders: ['stripe-account'] });

    expect((await platform(store).recover()).map((outcome) => outcome.state)).toEqual(['succeeded']);
    expect(server.requests[0]?.headers).toMatchObject({ 'stripe-account': 'acct_1', authorization: 'Bearer sk_platform' });
  });

  it('without them too: a call’s own headers are journaled, and recover() resends the payout on the connected account, not the platform', async () => {
    const store = memoryStore();
    await payoutLeftPending(store, {});

    const [summary] = await store.list();
    expect((await store.get(summary!.scope, summary!.id))?.headers).toEqual({
      'content-type': 'application/json',
      'stripe-account': 'acct_1',
      'stripe-version': '2026-01-01',
    });
    expect((await platform(store).recover()).map((outcome) => outcome.state)).toEqual(['succeeded']);
    expect(server.requests[0]?.headers).toMatchObject({ 'stripe-account': 'acct_1', 'stripe-version': '2026-01-01', authorization: 'Bearer sk_platform' });
  });

  it('are merged with the client’s list, whose headers are kept too', async () => {
    const store = memoryStore();
    await payoutLeftPending(store, { persistHeaders: ['Stripe-Account'] }, { persistHeaders: ['stripe-version'] });

    const [summary] = await store.list();
    expect((await store.get(summary!.scope, summary!.id))?.headers).toEqual({
      'content-type': 'application/json',
      'stripe-account': 'acct_1',
      'stripe-version': '2026-01-01',
    });
    await platform(store).recover();
    expect(server.requests[0]?.headers).toMatchObject({ 'stripe-account': 'acct_1', 'stripe-version': '2026-01-01' });
  });

  it.each(['authorization', 'X-Api-Key', 'cookie', 'x-session-id', 'x-auth-key', 'ocp-apim-subscription-key'])(
    'a credential-like name (%s) is refused with a TypeError before anything is journaled or sent',
    async (name) => {
      const store = memoryStore();
      const call = platform(store).post('v1/payouts', { json: {}, headers: { [name]: 'secret_value' }, persistHeaders: [name] });
      await expect(call).rejects.toThrow(TypeError);
      await expect(platform(store).post('v1/payouts', { json: {}, persistHeaders: [name] })).rejects.toThrow(/credentials are never journaled/);
      expect(await store.list()).toEqual([]);
      expect(server.requests).toEqual([]);
    },
  );

  it('a name that is no header name is refused with a TypeError naming persistHeaders', async () => {
    const store = memoryStore();
    await expect(platform(store).post('v1/payouts', { json: {}, persistHeaders: ['stripe account'] })).rejects.toThrow(/persistHeaders/);
    expect(await store.list()).toEqual([]);
  });
});

describe('a call’s own headers, as recovery needs them', () => {
  it('a per-call X-Tenant over the client’s own is resent as the call sent it; the client’s headers are not journaled', async () => {
    const store = memoryStore();
    server.answer((_request, res) => res.socket?.destroy());
    const options = { headers: { Authorization: 'Bearer sk_platform', 'X-Tenant': 'platform', 'X-Client': 'cli' } };
    await expect(platform(store, options).post('v1/payouts', { json: { amount: 5 }, headers: { 'X-Tenant': 'tenant-42' } })).rejects.toThrow();
    server.reset();

    const [summary] = await store.list();
    expect((await store.get(summary!.scope, summary!.id))?.headers).toEqual({ 'content-type': 'application/json', 'x-tenant': 'tenant-42' });
    await platform(store, options).recover();
    expect(server.requests[0]?.headers).toMatchObject({ 'x-tenant': 'tenant-42', 'x-client': 'cli', authorization: 'Bearer sk_platform' });
  });

  it('the key given as a header is the key, not a journaled header', async () => {
    const store = memoryStore();
    await platform(store).post('v1/payouts', { json: {}, headers: { 'Idempotency-Key': 'payout-h' } });
    const [summary] = await store.list();
    expect(summary?.idempotencyKey).toBe('payout-h');
    expect((await store.get(summary!.scope, summary!.id))?.headers).toEqual({ 'content-type': 'application/json' });
  });

  it.each([
    ['Authorization', 'another value than the client’s', 'Bearer sk_connected_SECRET_9f'],
    ['X-Api-Key', 'a credential the client does not send', 'key_SECRET_9f'],
    ['X-Request-Signature', 'a per-request signature', 'sig_SECRET_9f'],
  ])('a per-call credential (%s, %s) cannot be recovered: a TypeError naming the header, never its value, before anything is journaled or sent', async (name, _what, value) => {
    const store = memoryStore();
    const api = platform(store);
    for (const call of [
      () => api.post('v1/payouts', { json: {}, headers: { [name]: value } }),
      () => api.post('v1/payouts', { json: {}, headers: { [name]: value }, persistHeaders: ['stripe-account'] }),
      () => api.enqueue('POST', 'v1/payouts', { json: {}, headers: { [name]: value } }),
    ]) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TypeError);
      const { message } = error as TypeError;
      expect(message).toContain(`"${name.toLowerCase()}"`);
      expect(message).toMatch(/persistHeaders cannot keep one/);
      expect(message).toMatch(/client’s headers.*hooks\.beforeRequest/);
      expect(message).not.toContain('SECRET');
    }
    expect(await store.list()).toEqual([]);
    expect(server.requests).toEqual([]);
  });

  it('a per-call credential the same as the client’s is the client’s: sent, accepted, not journaled', async () => {
    const store = memoryStore();
    const response = await platform(store).post('v1/payouts', { json: {}, headers: { Authorization: 'Bearer sk_platform' } });
    expect(response.status).toBe(201);
    const [summary] = await store.list();
    expect((await store.get(summary!.scope, summary!.id))?.headers).toEqual({ 'content-type': 'application/json' });
  });
});
