import { memoryStore } from '../../src/index.js';
import type { IntentStore } from '../../src/index.js';

/** A memory store that logs each call once it has resolved, to prove what happened in which order. */
export function recordingStore(events: string[], inner: IntentStore = memoryStore()): IntentStore {
  const log = <T>(name: (result: T) => string) => (result: T) => {
    events.push(name(result));
    return result;
  };
  return {
    get: (scope, id) => inner.get(scope, id).then(log((intent) => `get:${intent?.state ?? 'none'}`)),
    create: (intent) => inner.create(intent).then(log((existing) => (existing ? `create:found-${existing.state}` : 'create'))),
    update: (scope, id, version, change) =>
      inner.update(scope, id, version, change).then(log((written) => `update:${change.state ?? 'lease'}${written === undefined ? ':stale' : ''}`)),
    claim: (request) => inner.claim(request).then(log((claimed) => `claim:${claimed.length}`)),
    list: (query) => inner.list(query).then(log(() => 'list')),
    compact: () => inner.compact(),
    close: () => inner.close(),
  };
}

/** A store whose writes fail, as a full disk or a revoked permission would. */
export function brokenStore(events: string[] = []): IntentStore {
  const fail = async (): Promise<never> => {
    events.push('write:failed');
    throw new Error('SQLITE_FULL: database or disk is full');
  };
  return {
    get: async () => undefined,
    create: fail,
    update: fail,
    claim: fail,
    list: async () => [],
    compact: async () => 0,
    close: async () => {},
  };
}
