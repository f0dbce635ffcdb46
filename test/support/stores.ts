import { memoryStore } from '../../src/index.js';
import type { Intent, IntentStore } from '../../src/index.js';

/** A memory store that logs each call once it has resolved, to prove what happened in which order. */
export function recordingStore(events: string[], inner: IntentStore = memoryStore()): IntentStore {
  return {
    async get(scope, id) {
      const intent = await inner.get(scope, id);
      events.push(`get:${intent?.state ?? 'none'}`);
      return intent;
    },
    async put(intent: Intent) {
      await inner.put(intent);
      events.push(`put:${intent.state}`);
    },
    async list(scope) {
      events.push('list');
      return inner.list(scope);
    },
  };
}

/** A store whose writes fail, as a full disk or a revoked permission would. */
export function brokenStore(events: string[] = []): IntentStore {
  return {
    async get() {
      return undefined;
    },
    async put() {
      events.push('put:failed');
      throw new Error('ENOSPC: no space left on device');
    },
    async list() {
      return [];
    },
  };
}
