import { type Intent, type IntentStore, intentId, isCompactable } from './store.js';

/**
 * Intents in this process's memory: for tests, and for callers who opt out of durability.
 * Nothing survives the process.
 */
export function memoryStore(): IntentStore {
  const intents = new Map<string, Intent>();
  const slot = (scope: string, id: string) => `${scope}\n${id}`;
  let putsSinceSweep = 0;

  return {
    async get(scope, id) {
      const intent = intents.get(slot(scope, id));
      return intent && structuredClone(intent);
    },
    async put(intent) {
      // Sweep now and then rather than on every put, so a put stays O(1).
      if (++putsSinceSweep >= 1000) {
        putsSinceSweep = 0;
        const now = Date.now();
        for (const [name, kept] of intents) if (isCompactable(kept, now)) intents.delete(name);
      }
      // Kept as given (the client never changes a record it has stored); readers get copies.
      intents.set(slot(intent.scope, intentId(intent)), intent);
    },
    async list(scope) {
      return [...intents.values()]
        .filter((intent) => scope === undefined || intent.scope === scope)
        .map((intent) => structuredClone(intent));
    },
  };
}
