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

  /**
   * The owner id to write into intents. A failed enlistment is not kept: the next call tries
   * again; nor is a lost one (its sign of life ended while this client lives on): the next call
   * enlists anew, as claimants may take whatever the lost owner holds.
   */
  id(): Promise<string> {
    const enlisting = (this.#enlisted ??= (this.#store.enlist?.() ?? Promise.resolve<Enlistment>({ owner: generateKey(), release: async () => {} })).then(
      (enlisted) => {
        void enlisted.lost?.then(() => {
          if (this.#enlisted === enlisting) this.#enlisted = undefined;
        });
        return enlisted;
      },
      (error: unknown) => {
        this.#enlisted = undefined;
        throw error;
      },
    ));
    return enlisting.then((enlisted) => enlisted.owner);
  }

  /** The client is done: its sign of life ends. */
  async release(): Promise<void> {
    const enlisted = await this.#enlisted?.catch(() => undefined);
    this.#enlisted = undefined;
    await enlisted?.release();
  }
}
