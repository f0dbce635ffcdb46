// Loaded by `runInFreshPage` into a page of its own: whatever it finds there did not come from the
// test page's memory, connections or module instances.
import { indexedDbStore } from '../../src/browser.js';
import type { Intent } from '../../src/stores/store.js';

export async function readIntents(name: string, scope: string): Promise<Intent[]> {
  const store = indexedDbStore({ name });
  try {
    return await store.list(scope);
  } finally {
    await store.close?.();
  }
}

export async function writeIntent(name: string, intent: Intent): Promise<void> {
  const store = indexedDbStore({ name });
  try {
    await store.put(intent);
  } finally {
    await store.close?.();
  }
}
