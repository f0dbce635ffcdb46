/**
 * This client as an owner of intents. Where the store can show an owner's death (`enlist`: a
 * database session, a Web Lock, the process itself), the client is enlisted on first need and
 * its intents are taken over the moment it dies; elsewhere it is a fresh name, seen only through
 * its leases.
 */
import { generateKey } from './key.js';
import type { Enlistment, IntentStore } from './stores/store.js';

export class Owner {
  readonly #store: IntentStore;
  #enlisted: Promise<Enlistment> | undefined;

  constructor(store: IntentStore) {
    this.#store = store;
  }

  /** The owner id to write into intents. A failed enlistment is not kept: the next call tries again. */
  id(): Promise<string> {
    this.#enlisted ??= (this.#store.enlist?.() ?? Promise.resolve({ owner: generateKey(), release: async () => {} })).catch((error: unknown) => {
      this.#enlisted = undefined;
      throw error;
    });
    return this.#enlisted.then((enlisted) => enlisted.owner);
  }

  /** The client is done: its sign of life ends. */
  async release(): Promise<void> {
    const enlisted = await this.#enlisted?.catch(() => undefined);
    this.#enlisted = undefined;
    await enlisted?.release();
  }
}
