/**
 * A purchase a page left pending, finished by the app's service worker (durable-fetch/sw), in
 * each browser with what it has. Where there is Background Sync (Chromium), the page's
 * requestBackgroundRecovery registers one for the worker. Where there is none (Firefox: no
 * SyncManager), it resolves false, and the documented fallback takes over: the worker recovers when
 * it starts and when it activates. Either way the purchase is applied once, with its key.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { requestBackgroundRecovery } from '../../src/browser.js';
import { createClient, type IntentStore, NetworkError } from '../../src/index.browser.js';
import { useJournals } from './journals.js';
import { EVERY_REQUEST_LOST, testServer } from './test-server.js';

const server = testServer(inject('serverUrl'));
const newJournal = useJournals();
/** The workers a test started, released and unregistered after it, passed or failed. */
const started: Array<{ release(): Promise<void>; registration: ServiceWorkerRegistration }> = [];

beforeEach(() => server.reset());
// Runs before useJournals' own afterEach (hooks unwind in reverse): a worker still holding the
// journal open would block its deletion.
afterEach(async () => {
  for (const worker of started.splice(0)) {
    await worker.release();
    await worker.registration.unregister();
  }
});

/** A purchase whose request never reached the server, left pending and released in `store`. */
async function purchaseLeftPending(store: IntentStore): Promise<string> {
  await server.faults(EVERY_REQUEST_LOST);
  const page = createClient({ prefix: server.url, store, retry: 0 });
  const idempotencyKey = `purchase-${crypto.randomUUID()}`;
  await expect(page.post('v1/purchases', { json: { item: 'lamp' }, idempotencyKey })).rejects.toThrow(NetworkError);
  await page.close();
  await server.faults(null);
  return idempotencyKey;
}

interface WorkerMessage {
  backgroundSync?: boolean;
  recovered?: { idempotencyKey: string; state: string };
  released?: true;
}

/**
 * Registers recovery-worker.ts on the journal `journalName`, in a scope of its own, and resolves
 * once its worker is active; `next(field)` waits for the worker's next message carrying that field.
 */
async function startWorker(journalName: string) {
  const channel = new BroadcastChannel(`worker-${crypto.randomUUID()}`);
  const messages: WorkerMessage[] = [];
  const waiting: Array<() => void> = [];
  channel.onmessage = (event: MessageEvent<WorkerMessage>) => {
    messages.push(event.data);
    for (const wake of waiting.splice(0)) wake();
  };
  async function next<K extends keyof WorkerMessage>(field: K): Promise<NonNullable<WorkerMessage[K]>> {
    for (;;) {
      const index = messages.findIndex((message) => message[field] !== undefined);
      if (index !== -1) return messages.splice(index, 1)[0]![field]!;
      await new Promise<void>((wake) => waiting.push(wake));
    }
  }

  const script = new URL('./recovery-worker.ts', import.meta.url);
  script.search = new URLSearchParams({ server: server.url, journal: journalName, channel: channel.name }).toString();
  const registration = await navigator.serviceWorker.register(script, {
    type: 'module',
    scope: new URL(`./worker-scope-${crypto.randomUUID()}/`, script).pathname,
  });
  const serviceWorker = registration.installing ?? registration.waiting ?? registration.active!;
  if (serviceWorker.state !== 'activated') {
    await new Promise<void>((resolve, reject) =>
      serviceWorker.addEventListener('statechange', () => {
        if (serviceWorker.state === 'activated') resolve();
        if (serviceWorker.state === 'redundant') reject(new Error('the service worker failed to install'));
      }),
    );
  }

  let released: Promise<void> | undefined;
  const worker = {
    registration,
    next,
    /** Has the worker end its passes and close the journal, then closes the channel; once. */
    release(): Promise<void> {
      released ??= (async () => {
        registration.active!.postMessage('release');
        await next('released');
        channel.close();
      })();
      return released;
    },
  };
  started.push(worker);
  return worker;
}

describe('a purchase left pending, finished by the service worker', () => {
  it('with a Background Sync where the browser has one, without where it has none (Firefox), once', async () => {
    const journal = newJournal();
    const key = await purchaseLeftPending(journal.open());
    const before = (await server.state()).requests.length;

    const worker = await startWorker(journal.name);
    const registered = await requestBackgroundRecovery(worker.registration);

    const backgroundSync = 'SyncManager' in globalThis;
    expect(await worker.next('backgroundSync')).toBe(backgroundSync);
    if (backgroundSync) {
      expect(registered).toBe(true);
    } else {
      // The fallback: the page is told no sync was registered; the worker recovers by itself.
      expect('sync' in worker.registration).toBe(false);
      expect(registered).toBe(false);
    }
    expect(await worker.next('recovered')).toEqual({ idempotencyKey: key, state: 'succeeded' });
    await worker.release();

    expect(await server.applied(key)).toBe(1);
    expect((await server.state()).requests.slice(before)).toEqual([expect.objectContaining({ key, outcome: 'applied' })]);
    expect((await journal.open().list()).map((intent) => [intent.idempotencyKey, intent.state])).toEqual([[key, 'succeeded']]);
  });
});
