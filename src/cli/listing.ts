/**
 * One intent as the CLI shows it: what an operator needs to decide whether to wait, recover or
 * resolve, and nothing secret. Payloads are read only to be checked, never shown, and the URL is
 * shown masked, as errors and events show it.
 */
import { maskUrl } from '../credentials.js';
import type { IntentState, IntentSummary } from '../stores/store.js';

export interface ListedIntent {
  scope: string;
  idempotencyKey: string;
  state: IntentState;
  method: string;
  /** As sent, masked as every URL shown is (`maskUrl`: secret-named query and fragment values, userinfo). */
  url: string;
  createdAt: string;
  ageMs: number;
  attempts: number;
  /** The client working on it (an opaque id), or null. */
  owner: string | null;
  /** An owner's lease is running: recovery leaves the intent alone until it ends. */
  leaseHeld: boolean;
  /** What is left of that lease, in ms; 0 when free. */
  leaseRemainingMs: number;
  /** Nobody holds it, but recovery leaves it alone for this long (a server's Retry-After), ms; 0 when not parked. */
  parkedForMs: number;
  expiresAt: string;
  /** The key's TTL (createdAt + keyTtlMs) has passed: the server may no longer know it. */
  keyExpired: boolean;
  /**
   * Why the intent is damaged in the journal (its stored method, URL and body no longer give its
   * fingerprint, say), as the client's `IdempotencyIntegrityError` says it; null when it is whole.
   * Recovery and relays send nothing of a damaged intent.
   */
  damaged: string | null;
}

/**
 * `secretParams`: the names held secret besides the rule's (`--secret-param`), from `secretNames`;
 * `damaged`: what `damageOf` found wrong with the whole intent, if anything.
 */
export function describeIntent(intent: IntentSummary, now: number, secretParams: ReadonlySet<string>, damaged?: string): ListedIntent {
  const leaseRemainingMs = intent.owner === null ? 0 : Math.max(0, intent.leaseUntil - now);
  return {
    scope: intent.scope,
    idempotencyKey: intent.idempotencyKey,
    state: intent.state,
    method: intent.method,
    url: maskUrl(intent.url, secretParams),
    createdAt: new Date(intent.createdAt).toISOString(),
    ageMs: Math.max(0, now - intent.createdAt),
    attempts: intent.attempts,
    owner: intent.owner,
    leaseHeld: leaseRemainingMs > 0,
    leaseRemainingMs,
    parkedForMs: intent.owner === null ? Math.max(0, intent.leaseUntil - now) : 0,
    expiresAt: new Date(intent.expiresAt).toISOString(),
    keyExpired: now >= intent.expiresAt,
    damaged: damaged ?? null,
  };
}

/** 42s, 5m, 3h07m, 2d4h: coarse enough to read at a glance. */
export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(seconds / 86_400)}d${Math.floor((seconds % 86_400) / 3600)}h`;
}
