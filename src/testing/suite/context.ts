import type { ClaimRequest, Intent, IntentStore } from '../../stores/store.js';

/** The times of a record. */
export type DamagedTime = 'createdAt' | 'updatedAt' | 'expiresAt' | 'leaseUntil';

/** What a store author tells `describeIntentStore` beyond how to make a store. */
export interface IntentStoreSuiteOptions {
  /**
   * Writes `intent`, whose `state` is one this version does not know, as a newer version of the
   * store would: the contract has no call for it. Without it the unknown-record tests are skipped.
   */
  plantUnknown?(store: IntentStore, intent: Intent): Promise<void>;
  /**
   * Stores `intent` as created, then writes `value` into its `field` behind the store's back, as
   * a program writing by hand or a damaged file would: a time no store keeps (1e16, -5, past
   * 2^53). The contract refuses such writes, so a store that holds nothing but what went through
   * it (the memory store) has no such hook. Without it the damaged-record tests are skipped.
   */
  plantDamaged?(store: IntentStore, intent: Intent, field: DamagedTime, value: number): Promise<void>;
  /**
   * For stores that processes share: races claimants in separate processes over the same
   * storage. Without it the cross-process test is skipped.
   */
  processes?: {
    /** How many processes race. @default 4 */
    count?: number;
    /**
     * Starts a process that opens the storage `store` uses, and resolves once it is ready. `run`
     * then lets it call `claim(request)` until it claims nothing, and resolves the ids it claimed:
     * the suite readies every process before any claims, so they really race.
     */
    startClaimant(store: IntentStore, request: ClaimRequest): Promise<{ run(): Promise<string[]> }>;
  };
  /**
   * An owner id, enlisted with the store `store` uses (`enlist`), whose holder has died — say, a
   * process that enlisted and exited. Without it the suite enlists one and releases it, as a
   * closing client does, which suits stores whose sign of life ends with the release.
   */
  deadOwner?(store: IntentStore): Promise<string>;
  /** Size of the big-payload round trip. @default 32 MiB */
  bigBodyBytes?: number;
}

/** What each part of the suite gets. */
export interface SuiteContext {
  options: IntentStoreSuiteOptions;
  /** A test body run against a fresh store, closed afterwards whatever happens. */
  withStore(test: (store: IntentStore) => Promise<void>): () => Promise<void>;
}
