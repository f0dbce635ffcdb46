/**
 * autoRecover in a page: the network coming back (`online`) and the page shown again
 * (`visibilitychange` to visible) each start a recovery pass, and close() takes the listeners
 * away. The events are dispatched here; the real offline round trip, through the DevTools
 * protocol, is in test/examples/checkout.test.ts.
 */
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createClient, type DurableClient, type IntentStore, NetworkError } from '../../src/index.browser.js';
import { useJournals } from './journals.js';
import { EVERY_REQUEST_LOST, testServer } from './test-server.js';

const server = testServer(inject('serverUrl'));
const newJournal = useJournals();

beforeEach(() => server.reset());
afterEach(() => vi.restoreAllMocks());

/** A purchase whose request never reached the server, left pending and released in `store`. */
async function lostPurchase(store: IntentStore): Promise<string> {
  await server.faults(EVERY_REQUEST_LOST);
  const page = createClient({ prefix: server.url, store, retry: 0 });
  const idempotencyKey = `purchase-${crypto.randomUUID()}`;
  await expect(page.post('v1/purchases', { json: { item: 'lamp' }, idempotencyKey })).rejects.toThrow(NetworkError);
  await page.flush();
  await server.faults(null);
  return idempotencyKey;
}

/** A client with autoRecover whose start pass has run (on an empty journal), and its recoveries as they happen. */
async function watchingClient(store: IntentStore): Promise<{ client: DurableClient; recovered: Promise<string> }> {
  let report!: (line: string) => void;
  const recovered = new Promise<string>((resolve) => (report = resolve));
  const client = createClient({
    prefix: server.url,
    store,
    autoRecover: true,
    on: { recovery: ({ idempotencyKey, state }) => report(`${idempotencyKey} ${state}`) },
  });
  // Passes run one at a time: this one ends after the pass at creation.
  expect(await client.recover()).toEqual([]);
  return { client, recovered };
}

describe('autoRecover in a page', () => {
  it('finishes a pending purchase when the network comes back', async () => {
    const journal = newJournal();
    const { client, recovered } = await watchingClient(journal.open());
    const key = await lostPurchase(journal.open());

    window.dispatchEvent(new Event('online'));

    expect(await recovered).toBe(`${key} succeeded`);
    await client.close();
    expect(await server.applied(key)).toBe(1);
  });

  it('finishes a pending purchase when the page becomes visible again', async () => {
    expect(document.visibilityState).toBe('visible');
    const journal = newJournal();
    const { client, recovered } = await watchingClient(journal.open());
    const key = await lostPurchase(journal.open());

    document.dispatchEvent(new Event('visibilitychange'));

    expect(await recovered).toBe(`${key} succeeded`);
    await client.close();
    expect(await server.applied(key)).toBe(1);
  });

  it('stops listening at close()', async () => {
    const added = vi.spyOn(window, 'addEventListener');
    const removed = vi.spyOn(window, 'removeEventListener');
    const addedToDocument = vi.spyOn(document, 'addEventListener');
    const removedFromDocument = vi.spyOn(document, 'removeEventListener');
    const { client } = await watchingClient(newJournal().open());
    const online = added.mock.calls.find(([type]) => type === 'online')?.[1];
    const visibility = addedToDocument.mock.calls.find(([type]) => type === 'visibilitychange')?.[1];
    expect([typeof online, typeof visibility]).toEqual(['function', 'function']);

    await client.close();

    expect(removed).toHaveBeenCalledWith('online', online);
    expect(removedFromDocument).toHaveBeenCalledWith('visibilitychange', visibility);
  });
});
