// Registered by background-recovery.test.ts as a module service worker of the test origin: the
// app's worker, finishing from the page's journal what pages left pending (durable-fetch/sw). Its
// settings come in its script URL's query: the test server, the journal's name, and a
// BroadcastChannel on which it reports what it sees and recovers.
import { indexedDbStore } from '../../src/browser.js';
import { finishPendingIntents } from '../../src/sw.js';

const settings = new URL(location.href).searchParams;
const channel = new BroadcastChannel(settings.get('channel')!);
const store = indexedDbStore({ name: settings.get('journal')! });

// Said first, before any pass: whether this browser gave the worker's registration Background Sync.
channel.postMessage({ backgroundSync: (globalThis as { registration?: { sync?: unknown } }).registration?.sync !== undefined });

const recoverNow = finishPendingIntents({
  clientOptions: {
    prefix: settings.get('server')!,
    store,
    retry: { limit: 0 },
    on: { recovery: ({ idempotencyKey, state }) => channel.postMessage({ recovered: { idempotencyKey, state } }) },
  },
});

// 'release' from the test: once every pass queued so far has ended (a pass queued now runs after
// them, its outcomes written), the journal's connection goes, so the test can delete it.
addEventListener('message', (event) => {
  if ((event as MessageEvent).data !== 'release') return;
  void recoverNow()
    .then(() => store.close())
    .then(() => channel.postMessage({ released: true }));
});
