/**
 * durable-fetch/sw in a real service worker of this origin: it shares the pages' IndexedDB and
 * Web Locks, so a purchase whose tab closed mid-request, still owning it, is the worker's to finish
 * at once, lease or no lease, and each of its passes lets go of its owner when it ends.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { commands } from 'vitest/browser';
import { indexedDbStore } from '../../src/browser.js';
import { deleteDatabase, whenLetGo } from './journals.js';
import type { Purchase, SentRequest } from './recovery-page.js';
import type { WorkerOutcome } from './pass-worker.js';
import { testServer } from './test-server.js';

const server = testServer(inject('serverUrl'));
const AUTHORIZATION = 'Bearer sk_shop_1';
const cleanups: Array<() => Promise<void>> = [];

beforeEach(() => server.reset());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Sends `message` to the worker and resolves its answer. */
function ask<T>(worker: ServiceWorker, message: unknown): Promise<T> {
  const { port1, port2 } = new MessageChannel();
  const answered = new Promise<T>((resolve) => (port1.onmessage = (event) => resolve(event.data as T)));
  worker.postMessage(message, [port2]);
  return answered.finally(() => port1.close());
}

/** The worker, registered on a scope no page uses and activated (its first pass, on `activate`, done). */
async function workerOn(storeName: string): Promise<ServiceWorker> {
  const query = new URLSearchParams({ server: server.url, store: storeName, authorization: AUTHORIZATION });
  const registration = await navigator.serviceWorker.register(`/test/browser/pass-worker.ts?${query}`, {
    type: 'module',
    scope: `/test/browser/no-page-${crypto.randomUUID()}/`,
  });
  cleanups.push(async () => void (await registration.unregister()));
  const worker = (registration.installing ?? registration.waiting ?? registration.active)!;
  await new Promise<void>((resolve, reject) => {
    const look = () => {
      if (worker.state === 'activated') resolve();
      if (worker.state === 'redundant') reject(new Error('the service worker failed to install'));
    };
    worker.addEventListener('statechange', look);
    look();
  });
  return worker;
}

/** The names of the owner locks held on this origin now. */
async function ownerLocks(): Promise<string[]> {
  return ((await navigator.locks.query()).held ?? []).flatMap((lock) => (lock.name?.startsWith('durable-fetch owner ') ? [lock.name] : [])).sort();
}

describe('the service worker', () => {
  it('finishes a purchase whose tab closed mid-request at once, under the default lease, and keeps no owner between passes', async () => {
    const storeName = `sw-${crypto.randomUUID()}`;
    const worker = await workerOn(storeName);
    cleanups.push(async () => {
      // The worker lives on for a while after unregistering: its connection is closed first.
      await ask(worker, 'close');
      await deleteDatabase(`durable-fetch:${storeName}`);
    });
    const locksBefore = await ownerLocks();
    const order: Purchase = { idempotencyKey: `purchase-${crypto.randomUUID()}`, json: { item: 'lamp', quantity: 1, cents: 4_999 } };
    const closed = await commands.runInFreshPage<SentRequest[]>('./recovery-page.ts', 'abandonPurchase', { serverUrl: server.url, storeName, authorization: AUTHORIZATION }, order, {});
    expect(closed.map((request) => request.key)).toEqual([order.idempotencyKey]);
    const journal = indexedDbStore({ name: storeName });
    const [owned] = await journal.list();
    await journal.close();
    expect(owned).toMatchObject({ idempotencyKey: order.idempotencyKey, state: 'pending', owner: expect.stringMatching(/^web-lock:/) });
    await whenLetGo(owned!.owner!);

    const outcomes = await ask<WorkerOutcome[]>(worker, 'recover');

    expect(outcomes).toEqual([{ idempotencyKey: order.idempotencyKey, state: 'succeeded', status: 201, replayed: true }]);
    expect(Date.now()).toBeLessThan(owned!.leaseUntil);
    expect(await server.applied(order.idempotencyKey, AUTHORIZATION)).toBe(1);
    // The pass's owner ended with the pass: the worker holds no lock of its own any more.
    expect(await ownerLocks()).toEqual(locksBefore);
  });
});
