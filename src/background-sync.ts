/**
 * The page's half of finishing intents in a service worker: asking the browser for a Background
 * Sync, which wakes the worker (`finishPendingIntents` from `durable-fetch/sw`) once the device is
 * online, even after every tab of the app has closed.
 */

/** The Background Sync tag a page registers and the service worker answers, unless both name another. */
export const BACKGROUND_SYNC_TAG = 'durable-fetch';

/** `ServiceWorkerRegistration.sync`: Background Sync, in Chromium-based browsers only (not in TypeScript's DOM library). */
interface SyncManager {
  register(tag: string): Promise<void>;
}

/**
 * Asks the browser to fire the `sync` event `tag` in the app's service worker when it is online:
 * call it when a call was left pending (it rejected with the intent journaled). Resolves whether
 * a sync was registered: false where Background Sync is missing (Firefox, Safari) or refused, and
 * there the worker recovers when it activates and the page (`autoRecover`) when it next opens.
 */
export async function requestBackgroundRecovery(registration: ServiceWorkerRegistration, tag: string = BACKGROUND_SYNC_TAG): Promise<boolean> {
  const sync = (registration as ServiceWorkerRegistration & { sync?: SyncManager }).sync;
  if (sync === undefined) return false;
  try {
    await sync.register(tag);
    return true;
  } catch {
    // Refused (permission, a registration that is not active yet): the other ways still finish the intent.
    return false;
  }
}
