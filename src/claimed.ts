/**
 * A claimed intent, finished: expired unless resent knowingly, skipped unless this client may send
 * it (its scope and `origins`), else sent with the intent's own key header and format, its stored
 * headers and the client's credentials of this moment, within `totalTimeout`; its outcome reported.
 * Shared by `recover()` and `relay()`, with what both check of their options.
 */
import { describe, emitEnd } from './about.js';
import { expiredError } from './call-errors.js';
import type { Owned, Settlement, Transport } from './call-types.js';
import { maskUrl } from './credentials.js';
import { IdempotencyError } from './errors.js';
import { emit } from './events.js';
import { refuseIfDamaged } from './integrity.js';
import { Lease } from './ownership.js';
import type { RecoveryOutcome } from './recovery-types.js';
import { toDurableResponse } from './response.js';
import type { ClientRuntime } from './runtime.js';
import { sendOwned } from './send.js';
import { type ClaimRequest, type Intent, type IntentState, type IntentSummary, isExpiredAtClaim } from './stores/store.js';
import { timeLimit } from './time-limit.js';

/** The origins recovery may send to; a client that never said where it sends cannot recover. */
export function requireOrigins(runtime: ClientRuntime): readonly string[] {
  if (runtime.config.origins === undefined) {
    throw new TypeError('recover() and relay() need to know where they may send: give the client `prefix`, `baseUrl` or `origins`.');
  }
  return runtime.config.origins;
}
/** How recovered intents go out: the client's current headers (its credentials) and limits; retries off the budget's reserve. */
export function recoveryTransport(runtime: ClientRuntime, retryLaterMs: number): Transport {
  return { headers: runtime.config.headers, timeout: runtime.config.timeout, retry: runtime.config.retry, retryLaterMs, recovery: true };
}
/** `concurrency` as given, or the default; a TypeError naming it otherwise. */
export function concurrencyOf(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1000) {
    throw new TypeError(`concurrency must be a whole number from 1 to 1000, got ${String(value)}.`);
  }
  return value;
}
export function signalOf(value: unknown): AbortSignal {
  if (value === undefined) return new AbortController().signal;
  if (!(value instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal.');
  return value;
}
export function claimRequest(runtime: ClientRuntime, owner: string, origins: readonly string[], states: IntentState[], limit: number): ClaimRequest {
  return { scope: runtime.config.scope, origins, states, owner, leaseMs: runtime.config.leaseMs, limit };
}
export function own(intent: Intent, runtime: ClientRuntime, askedAt: number): Owned {
  return { intent, lease: new Lease(runtime.store, intent, runtime.config.leaseMs, askedAt) };
}
/** A claimed intent: expired unless resent knowingly, else sent within the client's `totalTimeout`; its outcome reported. */
export async function finishClaimed(
  owned: Owned,
  runtime: ClientRuntime,
  origins: readonly string[],
  resendExpired: boolean,
  transport: Transport,
  signal: AbortSignal,
): Promise<RecoveryOutcome> {
  const { intent, lease } = owned;
  const about = describe(intent, runtime);
  const expired = !resendExpired && (intent.state === 'expired' || isExpiredAtClaim(intent));
  // Read back from the journal: sent only if it still matches itself (a recorded origin that is
  // not its URL's included). Damaged, it is let go untouched — pending, its outcome as unknown as
  // before — and reported like a skip, with no start or end (no operation ran); never sent.
  const damaged = expired ? undefined : await refuseIfDamaged(intent, runtime);
  if (damaged !== undefined) {
    await lease.finish({ owner: null, leaseMs: transport.retryLaterMs ?? 0 }).catch(() => false);
    emit(runtime.config.on, 'recovery', { ...about, state: 'skipped', error: damaged });
    return { idempotencyKey: about.idempotencyKey, state: 'skipped', url: about.url, error: damaged };
  }
  // Stores select by the recorded `origin`; what counts is where the URL would send it. Released
  // untouched, reported, not sent.
  const target = sendsTo(intent);
  if (!origins.includes(target) || hasUserinfo(intent)) {
    await lease.finish({ owner: null, leaseMs: transport.retryLaterMs ?? 0 });
    return skip(intent, target, origins, runtime);
  }
  emit(runtime.config.on, 'start', { ...about, recovery: true, ...(intent.traceparent === undefined ? {} : { traceparent: intent.traceparent }) });
  let settlement: Settlement;
  if (expired) {
    await lease.finish({ state: 'expired', owner: null, leaseMs: 0 });
    settlement = { state: 'expired', error: expiredError(intent, runtime) };
  } else {
    const total = timeLimit(signal, runtime.config.totalTimeout);
    try {
      settlement = await sendOwned(owned, transport, runtime, signal, total.signal);
    } finally {
      total.end();
    }
    // Recovery has no caller waiting on the answer: its pass (or relay slot) ends with the outcome written.
    await settlement.journaled;
  }
  emitEnd(about, settlement, runtime);
  const outcome = toRecoveryOutcome(intent, settlement, runtime);
  emit(runtime.config.on, 'recovery', { ...about, state: outcome.state, error: outcome.error });
  return outcome;
}
/** Intents this client may not send (another origin), reported once per pass and left as they are. */
export function reportSkipped(unsettled: IntentSummary[], origins: readonly string[], runtime: ClientRuntime): RecoveryOutcome[] {
  const outside = unsettled.filter((intent) => !origins.includes(intent.origin) && intent.owner === null);
  return outside.map((intent) => skip(intent, intent.origin, origins, runtime));
}
/** The origin an intent's request would go to; an unparsable URL goes nowhere. */
function sendsTo(intent: Pick<Intent, 'url'>): string {
  try {
    return new URL(intent.url).origin;
  } catch {
    return 'null';
  }
}
/**
 * A URL with `user:password@`, which the client refuses before journaling: a row written by
 * another program. fetch would refuse it too, repeating it whole in its error.
 */
function hasUserinfo(intent: Pick<Intent, 'url'>): boolean {
  try {
    const url = new URL(intent.url);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}
/** An intent this client may not send (another origin, or credentials in its URL): reported (event and outcome), left as it is. */
function skip(intent: IntentSummary, target: string, origins: readonly string[], runtime: ClientRuntime): RecoveryOutcome {
  const about = describe(intent, runtime);
  const { idempotencyKey } = intent;
  const why = origins.includes(target)
    ? 'carries credentials in its URL (user:password@), which durable-fetch never sends'
    : `is for ${maskUrl(target, runtime.config.secretParams)}, which this client may not send to (origins: ${origins.join(', ')})`;
  const error = new IdempotencyError(`Intent of key "${idempotencyKey}" ${why}; skipped, not sent.`, { idempotencyKey });
  emit(runtime.config.on, 'recovery', { ...about, state: 'skipped', error });
  return { idempotencyKey: intent.idempotencyKey, state: 'skipped', url: about.url, error };
}
function toRecoveryOutcome(intent: Intent, { state = 'pending', answer, error, ...details }: Settlement, runtime: ClientRuntime): RecoveryOutcome {
  const { idempotencyKey, url } = describe(intent, runtime);
  const outcome: RecoveryOutcome = { idempotencyKey, state: state as RecoveryOutcome['state'], url };
  if (error !== undefined) outcome.error = error;
  else if (answer !== undefined) outcome.response = toDurableResponse({ answer: { ...answer, url: maskUrl(answer.url, runtime.config.secretParams) }, idempotencyKey, ...details });
  return outcome;
}
