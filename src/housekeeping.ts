/**
 * When settled intents past their retention are dropped: every store keeps them until then
 * (`isCompactable`), and somebody must ask. The client asks now and then — every 1,000 intents it
 * journals, once per `recover()` pass, and at most once a minute while a relay is idle — in the
 * background: housekeeping never delays or fails a call. Stores that also compact as they write (SQLite, IndexedDB) simply find less to do.
 */
import type { IntentStore } from './stores/store.js';

const EVERY = 1000;
const IDLE_EVERY_MS = 60_000;

export class Housekeeping {
  readonly #store: IntentStore;
  #untilNext = EVERY;
  #lastIdle = 0;
  #running: Promise<unknown> | undefined;

  constructor(store: IntentStore) {
    this.#store = store;
  }

  /** An intent was journaled. */
  journaled(): void {
    if (--this.#untilNext > 0) return;
    this.#untilNext = EVERY;
    this.compact();
  }

  /** Asks the store to drop what it may, unless a request is still running. */
  compact(): void {
    this.#running ??= this.#store
      .compact()
      .catch(() => 0)
      .finally(() => (this.#running = undefined));
  }

  /** A relay with nothing to do: compacts, at most once a minute. */
  idle(): void {
    if (Date.now() - this.#lastIdle < IDLE_EVERY_MS) return;
    this.#lastIdle = Date.now();
    this.compact();
  }

  /** Resolves once no compaction is running (before the store is closed). */
  async settled(): Promise<void> {
    await this.#running;
  }
}
