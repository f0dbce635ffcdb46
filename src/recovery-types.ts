/** What `pending()`, `recover()` and `relay()` take and give. */
import type { DurableResponse } from './response.js';

/** What `pending()` lists: an operation whose outcome is not known. Never its body or headers. */
export interface PendingIntent {
  scope: string;
  /** The intent's identity within its scope: pass the whole object to `resolve()`. */
  id: string;
  idempotencyKey: string;
  method: string;
  /** As sent, with the values of secret-named query and fragment parameters masked (and userinfo removed). */
  url: string;
  origin: string;
  state: 'pending' | 'expired';
  attempts: number;
  /** Epoch ms when the intent was journaled, last changed, and when its key's TTL ends. */
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  /** Epoch ms until which an owner holds it; in the past when nobody does. */
  leaseUntil: number;
  /**
   * Set when nobody holds it but recovery must not take it before this instant (epoch ms): the
   * server asked for a long wait (Retry-After), or a relay backs off after a failure.
   */
  parkedUntil?: number;
}
export interface RecoverOptions {
  /** Resend intents whose key's TTL has passed too, accepting that the server may run them twice. Default false. */
  resendExpired?: boolean;
  /**
   * Stops the pass: nothing new is claimed, what is in flight is aborted and released (pending,
   * for the next pass), and `recover()` resolves the outcomes so far. Each intent is bounded by the
   * client's `totalTimeout` besides.
   */
  signal?: AbortSignal;
  /** Intents sent at once, oldest claimed first. Default 4 for `recover()`, 8 for `relay()`. */
  concurrency?: number;
  /**
   * Called as each intent is finished: how many this pass has finished, and how many it may
   * handle in all (the unsettled intents of the client's scope and origins when it began; ones
   * that appear meanwhile raise it).
   */
  onProgress?(progress: { done: number; total: number; outcome: RecoveryOutcome }): void;
}
export interface RelayOptions extends Omit<RecoverOptions, 'onProgress'> {
  /** How often to look for new intents, ms, and how long a failed one waits before it is tried again. Default 1 000. */
  pollMs?: number;
}
export interface RecoveryOutcome {
  idempotencyKey: string;
  /** `skipped`: not sent — outside this client's scope or origins, its URL carrying `user:password@`, or damaged in the journal (`error` is an `IdempotencyIntegrityError`). */
  state: 'succeeded' | 'failed' | 'expired' | 'pending' | 'skipped';
  /** As sent, masked as every URL shown is (see `pending()`). */
  url: string;
  /** Its `url` masked as well. */
  response?: DurableResponse;
  error?: unknown;
}
