// Loaded by `runInFreshPage` into a page of its own: whatever it finds there did not come from the
// test page's memory, connections or module instances.
import { indexedDbStore } from '../../src/browser.js';
import type { Intent } from '../../src/stores/store.js';

export async function readIntent(name: string, scope: string, id: string): Promise<Intent | undefined> {
  const store = indexedDbStore({ name });
  try {
    return await store.get(scope, id);
  } finally {
    await store.close();
  }
}

export async function createIntent(name: string, intent: Intent): Promise<void> {
  const store = indexedDbStore({ name });
  try {
    await store.create(intent);
  } finally {
    await store.close();
  }
}
