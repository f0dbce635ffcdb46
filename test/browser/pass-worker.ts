// A service worker for service-worker.test.ts (background-recovery.test.ts has recovery-worker.ts), registered as a module: durable-fetch/sw's
// finishPendingIntents over the journal its URL names (?server=&store=&authorization=). A message
// from a page runs a pass now and answers on the port it brings: the outcomes as plain JSON.
// 'close' closes the worker's store, so the test can delete the database while the worker lives on.
import { indexedDbStore } from '../../src/browser.js';
import { finishPendingIntents } from '../../src/sw.js';

/** What a `message` event brings to a service worker (TypeScript's DOM library has no WebWorker types). */
interface ExtendableMessageEvent extends Event {
  data: unknown;
  ports: readonly MessagePort[];
  waitUntil(work: Promise<unknown>): void;
}

export interface WorkerOutcome {
  idempotencyKey: string;
  state: string;
  status?: number;
  replayed?: boolean;
}

const params = new URL(location.href).searchParams;
const store = indexedDbStore({ name: params.get('store') ?? '' });
const recoverNow = finishPendingIntents({
  clientOptions: { prefix: params.get('server') ?? '', store, retry: { limit: 0 }, timeout: 5_000 },
  headers: () => ({ Authorization: params.get('authorization') ?? '' }),
});

addEventListener('message', (event) => {
  const message = event as unknown as ExtendableMessageEvent;
  const [port] = message.ports;
  const work =
    message.data === 'close'
      ? store.close().then(() => 'closed')
      : recoverNow().then((outcomes) =>
          outcomes.map(({ idempotencyKey, state, response }): WorkerOutcome => ({ idempotencyKey, state, status: response?.status, replayed: response?.replayed })),
        );
  message.waitUntil(work.then((answer) => port?.postMessage(answer), (error: unknown) => port?.postMessage({ error: String(error) })));
});
