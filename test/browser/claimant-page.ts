// Loaded by `runInFreshPage` into a page of its own, standing for another tab of the origin: it
// claims from the same IndexedDB journal as the test page, racing the other tabs.
import { indexedDbStore } from '../../src/browser.js';
import type { ClaimRequest } from '../../src/stores/store.js';
import { claimUntilEmpty } from '../../src/testing/claims.js';

/**
 * Opens the journal, says `ready` on the BroadcastChannel `channelName`, and on `go` claims until
 * nothing is left: resolves the ids this tab took.
 */
export async function claimWhenTold(name: string, request: ClaimRequest, channelName: string): Promise<string[]> {
  const channel = new BroadcastChannel(channelName);
  const go = new Promise<void>((resolve) => {
    channel.onmessage = (event) => event.data === 'go' && resolve();
  });
  const store = indexedDbStore({ name });
  try {
    // Opened before the race, so every tab starts claiming at once.
    await store.list();
    channel.postMessage('ready');
    await go;
    return await claimUntilEmpty(store, request);
  } finally {
    channel.close();
    await store.close();
  }
}
