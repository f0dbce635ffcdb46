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

  it('without them, the header is not journaled and recovery does not send it', async () => {
    const store = memoryStore();
    await payoutLeftPending(store, {});

    await platform(store).recover();
    expect(server.requests[0]?.headers).not.toHaveProperty('stripe-account');
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
