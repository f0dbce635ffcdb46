import { memoryStore } from '../../src/stores/memory.js';
import { describeIntentStore } from '../../src/testing.js';

describeIntentStore('memoryStore', () => memoryStore(), {
  // The memory store keeps whatever state it is given, as a newer version's record would be.
  plantUnknown: async (store, intent) => void (await store.create(intent)),
});
