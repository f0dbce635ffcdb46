/**
 * The checkout's service worker: finishes purchases that were left pending when every tab of the
 * page had closed (offline, say), from the same IndexedDB journal, once the browser fires the
 * Background Sync the page asked for (`requestBackgroundRecovery`), or when it activates.
 */
import { finishPendingIntents } from 'durable-fetch/sw';

finishPendingIntents({
  // What the page's client may recover: the same origin, journal and limits. The demo API takes no
  // credentials; an app that needs them passes `headers: async () => ({ Authorization: … })`.
  clientOptions: { prefix: new URL('/api/', location.href), leaseMs: 5_000, retry: { limit: 4, backoffLimit: 4_000 }, timeout: 15_000 },
});
