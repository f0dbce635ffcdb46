/**
 * Finishing what a dead (or discouraged) owner started: `pending()` lists the unknown outcomes,
 * `recover()` claims and resends them once, `relay()` does so continuously, `resolve()` lets an
 * operator settle one by hand.
 *
 * Authority: an intent goes only where this client may send — its scope and its `origins` — with
 * the intent's own key header and format, its stored headers and the client's credentials of this
 * moment. Anything else is reported as `skipped`, never sent.
 */
import { IdempotencyError } from './errors.js';
import { timeLimit, whenAborted } from './time-limit.js';
import { emit } from './events.js';
import type { NormalizedOptions } from './options.js';
import { Lease } from './ownership.js';
import { describe, emitEnd, expiredError, type Owned, type Settlement, sendOwned, type Transport } from './operation.js';
import { toDurableResponse, type DurableResponse } from './response.js';
import { type ClaimRequest, type Intent, type IntentState, type IntentSummary, UNSETTLED_STATES } from './stores/store.js';

/** What `pending()` lists: an operation whose outcome is not known. Never its body or headers. */
export interface PendingIntent {
  scope: string;
  /** The intent's identity within its scope: pass the whole object to `resolve()`. */
  id: string;
  idempotencyKey: string;
  method: string;
  /** As sent, with credential-like query values masked. */
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
}

export interface RelayOptions extends RecoverOptions {
  /** Stops the relay: nothing new is claimed, and what it holds is finished or released. */
  signal?: AbortSignal;
  /** Intents sent at once. Default 8. */
  concurrency?: number;
  /** How often to look for new intents, ms, and how long a failed one waits before it is tried again. Default 1 000. */
  pollMs?: number;
}

export interface RecoveryOutcome {
  idempotencyKey: string;
  /** `skipped`: outside this client's scope or origins, not sent. */
  state: 'succeeded' | 'failed' | 'expired' | 'pending' | 'skipped';
  /** As sent, with credential-like query values masked. */
  url: string;
  response?: DurableResponse;
  error?: unknown;
}

/** Intents of unknown outcome in the client's scope, oldest first. */
export async function listPending(options: NormalizedOptions): Promise<PendingIntent[]> {
  const intents = await options.store.list({ scope: options.scope, states: UNSETTLED_STATES });
  return intents.map((intent) => toPendingIntent(intent, options));
}

function toPendingIntent(intent: IntentSummary, options: NormalizedOptions): PendingIntent {
  const { scope, id, idempotencyKey, method, origin, state, attempts, createdAt, updatedAt, expiresAt, leaseUntil } = intent;
  const { url } = describe(intent, options);
  const shown: PendingIntent = { scope, id, idempotencyKey, method, url, origin, state: state as PendingIntent['state'], attempts, createdAt, updatedAt, expiresAt, leaseUntil };
  if (intent.owner === null && leaseUntil > Date.now()) shown.parkedUntil = leaseUntil;
  return shown;
}

/** The origins recovery may send to; a client that never said where it sends cannot recover. */
function requireOrigins(options: NormalizedOptions): readonly string[] {
  if (options.origins === undefined) {
    throw new TypeError('recover() and relay() need to know where they may send: give the client `prefix`, `baseUrl` or `origins`.');
  }
  return options.origins;
}

/** How recovered intents go out: the client's current headers (its credentials) and limits; retries off the budget's reserve. */
function recoveryTransport(options: NormalizedOptions, retryLaterMs: number): Transport {
  return { headers: options.headers, timeout: options.timeout, totalTimeout: options.totalTimeout, retry: options.retry, retryLaterMs, recovery: true };
}

/** One pass: claims each unowned intent of the client's scope and origins once, oldest first, and resends it. */
export async function recoverOnce(options: NormalizedOptions, { resendExpired = false }: RecoverOptions = {}): Promise<RecoveryOutcome[]> {
  const origins = requireOrigins(options);
  const states: IntentState[] = resendExpired ? ['pending', 'expired'] : ['pending'];
  const outcomes = await reportSkipped(options, origins, states);
  options.housekeeping.compact();
  const handled = new Set<string>();
  const startedAt = Date.now();
  const never = new AbortController().signal;
  for (;;) {
    // Only leases that had ended when the pass began: an intent given up during it waits for the next.
    const claimed = await options.store.claim(claimRequest(options, origins, states, startedAt, 16));
    const fresh = claimed.filter((intent) => !handled.has(intent.id));
    if (fresh.length === 0) break;
    for (const intent of fresh) {
      handled.add(intent.id);
      outcomes.push(await finishClaimed(own(intent, options), options, origins, resendExpired, recoveryTransport(options, 0), never));
    }
  }
  return outcomes;
}

/**
 * Until `signal` aborts: claims unowned intents as they appear (enqueued, or orphaned once their
 * owner's lease runs out) and sends up to `concurrency` at once. Stopping aborts what is in
 * flight; each such intent is released, pending, for the next relay.
 */
export async function relayLoop(options: NormalizedOptions, relayOptions: RelayOptions = {}): Promise<void> {
  const origins = requireOrigins(options);
  const { signal = new AbortController().signal, concurrency = 8, pollMs = 1000, resendExpired = false } = relayOptions;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be a whole number from 1, got ${concurrency}.`);
  const states: IntentState[] = resendExpired ? ['pending', 'expired'] : ['pending'];
  const running = new Set<Promise<unknown>>();
  // A store that can tell when intents appear (PostgreSQL's NOTIFY) wakes the relay at once.
  let wake = () => {};
  const unwatch = options.store.watch?.(() => wake());
  while (!signal.aborted) {
    // Armed before the claim: a notification that arrives while claiming still cuts the next wait short.
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const room = concurrency - running.size;
    const claimed = room > 0 ? await options.store.claim(claimRequest(options, origins, states, Date.now(), room)).catch(() => []) : [];
    for (const intent of claimed) {
      const work = finishClaimed(own(intent, options), options, origins, resendExpired, recoveryTransport(options, pollMs), signal).finally(() => running.delete(work));
      running.add(work);
    }
    if (room > 0 && claimed.length === room) continue;
    if (claimed.length === 0 && running.size === 0) options.housekeeping.idle();
    // Full: wait for a slot. Idle: wait for the next poll. Either way the stop cuts it short.
    const slotFreed = room > claimed.length ? [] : [Promise.race(running)];
    // The poll as a time limit ended after the race: no timer or listener on `signal` outlives a turn.
    // A stop that came while claiming has already aborted it.
    const poll = timeLimit(signal, pollMs);
    await Promise.race([whenAborted(poll.signal), woken, ...slotFreed]).catch(() => {});
    poll.end();
  }
  await Promise.allSettled(running);
  await unwatch?.();
}

function claimRequest(options: NormalizedOptions, origins: readonly string[], states: IntentState[], now: number, limit: number): ClaimRequest {
  return { scope: options.scope, origins, states, owner: options.owner, now, leaseUntil: Date.now() + options.leaseMs, limit };
}

function own(intent: Intent, options: NormalizedOptions): Owned {
  return { intent, lease: new Lease(options.store, intent.scope, intent.id, intent.version, intent.leaseUntil, options.leaseMs) };
}

/** A claimed intent: expired unless resent knowingly, else sent; its outcome reported. */
async function finishClaimed(
  owned: Owned,
  options: NormalizedOptions,
  origins: readonly string[],
  resendExpired: boolean,
  transport: Transport,
  signal: AbortSignal,
): Promise<RecoveryOutcome> {
  const { intent, lease } = owned;
  // Stores select by the recorded `origin`; what counts is where the URL would send it (a row
  // written by hand or by another program may disagree). Released untouched, reported, not sent.
  const target = sendsTo(intent);
  if (!origins.includes(target)) {
    await lease.finish({ owner: null, leaseUntil: Date.now() + (transport.retryLaterMs ?? 0) }).catch(() => false);
    return skip(intent, target, origins, options);
  }
  const about = describe(intent, options);
  emit(options.on, 'start', { ...about, recovery: true, ...(intent.traceparent === undefined ? {} : { traceparent: intent.traceparent }) });
  let settlement: Settlement;
  if (!resendExpired && (intent.state === 'expired' || Date.now() > intent.expiresAt)) {
    await lease.finish({ state: 'expired', owner: null, leaseUntil: 0, updatedAt: Date.now() }).catch(() => false);
    settlement = { state: 'expired', error: expiredError(intent, options) };
  } else {
    settlement = await sendOwned(owned, transport, options, signal);
    // Recovery has no caller waiting on the answer: its pass (or relay slot) ends with the outcome written.
    await settlement.journaled;
  }
  emitEnd(about, settlement, options);
  const outcome = toRecoveryOutcome(intent, settlement, options);
  emit(options.on, 'recovery', { ...about, state: outcome.state, error: outcome.error });
  return outcome;
}

/** Intents this client may not send (another origin), reported once per pass and left as they are. */
async function reportSkipped(options: NormalizedOptions, origins: readonly string[], states: IntentState[]): Promise<RecoveryOutcome[]> {
  const now = Date.now();
  const outside = (await options.store.list({ scope: options.scope, states })).filter((intent) => !origins.includes(intent.origin) && intent.leaseUntil <= now);
  return outside.map((intent) => skip(intent, intent.origin, origins, options));
}

/** The origin an intent's request would go to; an unparsable URL goes nowhere. */
function sendsTo(intent: Pick<Intent, 'url'>): string {
  try {
    return new URL(intent.url).origin;
  } catch {
    return 'null';
  }
}

/** An intent this client may not send: reported (event and outcome), left as it is. */
function skip(intent: IntentSummary, target: string, origins: readonly string[], options: NormalizedOptions): RecoveryOutcome {
  const about = describe(intent, options);
  const error = new IdempotencyError(
    `Intent of key "${intent.idempotencyKey}" is for ${target}, which this client may not send to (origins: ${origins.join(', ')}); skipped, not sent.`,
    { idempotencyKey: intent.idempotencyKey },
  );
  emit(options.on, 'recovery', { ...about, state: 'skipped', error });
  return { idempotencyKey: intent.idempotencyKey, state: 'skipped', url: about.url, error };
}

function toRecoveryOutcome(intent: Intent, { state = 'pending', answer, error, ...details }: Settlement, options: NormalizedOptions): RecoveryOutcome {
  const { idempotencyKey, url } = describe(intent, options);
  const outcome: RecoveryOutcome = { idempotencyKey, state: state as RecoveryOutcome['state'], url };
  if (error !== undefined) outcome.error = error;
  else if (answer !== undefined) outcome.response = toDurableResponse({ answer, idempotencyKey, ...details });
  return outcome;
}

/**
 * An operator's verdict on an unknown outcome (checked with the API): `expired`, or `pending`
 * with nobody holding it, becomes `succeeded` or `failed` for good.
 */
export async function resolveIntent(options: NormalizedOptions, intent: Pick<PendingIntent, 'scope' | 'id'>, state: 'succeeded' | 'failed'): Promise<void> {
  if (state !== 'succeeded' && state !== 'failed') throw new TypeError(`resolve() settles an intent as 'succeeded' or 'failed', got ${String(state)}.`);
  const stored = await options.store.get(intent.scope, intent.id);
  if (stored === undefined) throw new TypeError(`No intent ${intent.id} in scope ${intent.scope}.`);
  const { idempotencyKey } = stored;
  if (stored.state !== 'expired' && !(stored.state === 'pending' && stored.leaseUntil <= Date.now())) {
    const why = stored.state === 'pending' ? 'an owner is still working on it' : `it is already ${stored.state}`;
    throw new IdempotencyError(`Intent of key "${idempotencyKey}" cannot be resolved: ${why}.`, { idempotencyKey });
  }
  const now = Date.now();
  const version = await options.store.update(stored.scope, stored.id, stored.version, { state, owner: null, leaseUntil: 0, updatedAt: now });
  if (version === undefined) throw new IdempotencyError(`Intent of key "${idempotencyKey}" changed while it was being resolved; look again.`, { idempotencyKey });
}
