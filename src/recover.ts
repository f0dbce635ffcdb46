/**
 * Finishing what a dead (or discouraged) owner started: `pending()` lists the unknown outcomes,
 * `recover()` claims and resends them once, `relay()` does so continuously, `resolve()` lets an
 * operator settle one by hand.
 *
 * Authority: an intent goes only where this client may send — its scope and its `origins` — with
 * the intent's own key header and format, its stored headers and the client's credentials of this
 * moment. Anything else is reported as `skipped`, never sent.
 */
import { maskUrl } from './credentials.js';
import { IdempotencyError, IdempotencyIntegrityError } from './errors.js';
import { timeLimit, whenAborted } from './time-limit.js';
import { emit } from './events.js';
import { refuseIfDamaged } from './integrity.js';
import type { NormalizedOptions } from './options.js';
import { Lease } from './ownership.js';
import { describe, emitEnd, expiredError, type Owned, type Settlement, sendOwned, type Transport } from './operation.js';
import { toDurableResponse, type DurableResponse } from './response.js';
import { monotonicNow } from './ownership.js';
import { milliseconds } from './options.js';
import { type ClaimRequest, type DamagedRecord, describeDamaged, type Intent, type IntentState, type IntentSummary, isExpiredAtClaim, UNSETTLED_STATES } from './stores/store.js';

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

/**
 * Intents of unknown outcome in the client's scope, oldest first. A damaged record (times out of
 * range, no intent's shape) is left out and said as the event `damaged`: its outcome is unknown
 * too, but nothing of it can be shown or sent.
 */
export async function listPending(options: NormalizedOptions): Promise<PendingIntent[]> {
  const intents = await options.store.list({ scope: options.scope, states: UNSETTLED_STATES, onDamaged: (record) => damagedRecordError(record, options) });
  return intents.map((intent) => toPendingIntent(intent, options));
}

/**
 * The error for a record the store could not read as an intent, said as the event `damaged` too:
 * its key, method and URL where they are text (else empty), the URL masked.
 */
function damagedRecordError(record: DamagedRecord, options: NormalizedOptions): IdempotencyIntegrityError {
  const { idempotencyKey = '', method = '', url = '', reason } = record;
  const about = { idempotencyKey, method, url: url === '' ? '' : maskUrl(url, options.secretParams) };
  const error = new IdempotencyIntegrityError(
    `The journal's record of ${describeDamaged(record)} cannot be read: ${reason}. Nothing of it was sent or changed; check with the API whether ` +
      'the operation ran, then repair or delete the record by hand (or restore the journal from a backup).',
    { idempotencyKey, reason },
  );
  emit(options.on, 'damaged', { ...about, reason, error });
  return error;
}

function toPendingIntent(intent: IntentSummary, options: NormalizedOptions): PendingIntent {
  const { scope, id, idempotencyKey, method, origin, state, attempts, createdAt, updatedAt, expiresAt, leaseUntil } = intent;
  const { url } = describe(intent, options);
  // The recorded origin is shown as a URL is: a row written by hand may hold anything.
  const shown: PendingIntent = { scope, id, idempotencyKey, method, url, origin: maskUrl(origin, options.secretParams), state: state as PendingIntent['state'], attempts, createdAt, updatedAt, expiresAt, leaseUntil };
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
  return { headers: options.headers, timeout: options.timeout, retry: options.retry, retryLaterMs, recovery: true };
}

/** `concurrency` as given, or the default; a TypeError naming it otherwise. */
function concurrencyOf(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1000) {
    throw new TypeError(`concurrency must be a whole number from 1 to 1000, got ${String(value)}.`);
  }
  return value;
}

function signalOf(value: unknown): AbortSignal {
  if (value === undefined) return new AbortController().signal;
  if (!(value instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal.');
  return value;
}

/**
 * One pass: claims the unowned intents of the client's scope and origins, oldest first, only as
 * slots free up — a claimed intent is sent at once, never held while others go first — and
 * resends each once, `concurrency` at a time. Outcomes come back in the order intents were claimed.
 */
export async function recoverOnce(options: NormalizedOptions, recoverOptions: RecoverOptions = {}): Promise<RecoveryOutcome[]> {
  const origins = requireOrigins(options);
  const { resendExpired = false, onProgress } = recoverOptions;
  const concurrency = concurrencyOf(recoverOptions.concurrency, 4);
  const signal = signalOf(recoverOptions.signal);
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function.');
  const states: IntentState[] = resendExpired ? ['pending', 'expired'] : ['pending'];
  const owner = await options.owner.id();
  // Damaged records are never claimed: reported once per pass, as skipped.
  const unreadable: RecoveryOutcome[] = [];
  const unsettled = await options.store.list({
    scope: options.scope,
    states,
    onDamaged(record) {
      const error = damagedRecordError(record, options);
      const about = { idempotencyKey: error.idempotencyKey, method: record.method ?? '', url: record.url === undefined ? '' : maskUrl(record.url, options.secretParams) };
      emit(options.on, 'recovery', { ...about, state: 'skipped', error });
      unreadable.push({ idempotencyKey: about.idempotencyKey, state: 'skipped', url: about.url, error });
    },
  });
  const outcomes = [...unreadable, ...reportSkipped(unsettled, origins, options)];
  let total = unsettled.filter((intent) => origins.includes(intent.origin)).length;
  let done = 0;
  options.housekeeping.compact();
  const finished: Promise<RecoveryOutcome>[] = [];
  const running = new Set<Promise<unknown>>();
  // The store's time of the pass's first claim: what this pass releases (or others release after
  // it began) is written later, and waits for the next pass rather than being claimed again —
  // except within that very millisecond, where the pass leaves what it took by id.
  let startedAt: number | undefined;
  const takenAtStart: string[] = [];
  while (!signal.aborted) {
    const room = concurrency - running.size;
    const askedAt = monotonicNow();
    const window = startedAt === undefined ? {} : { unchangedBefore: startedAt + 1, excluding: takenAtStart };
    const claimed = room > 0 ? await options.store.claim({ ...claimRequest(options, owner, origins, states, room), ...window }) : [];
    startedAt ??= claimed[0]?.updatedAt;
    for (const intent of claimed) if (intent.updatedAt === startedAt) takenAtStart.push(intent.id);
    for (const intent of claimed) {
      const outcome = finishClaimed(own(intent, options, askedAt), options, origins, resendExpired, recoveryTransport(options, 0), signal).then((result) => {
        total = Math.max(total, ++done);
        onProgress?.({ done, total, outcome: result });
        return result;
      });
      const tracked = outcome.finally(() => running.delete(tracked));
      running.add(tracked);
      finished.push(outcome);
    }
    if (running.size === 0) break;
    // Full, or nothing more to claim for now: the next claim waits for a slot.
    await Promise.race(running);
  }
  await Promise.allSettled(running);
  outcomes.push(...(await Promise.all(finished)));
  return outcomes;
}

/**
 * Until `signal` aborts: claims unowned intents as they appear (enqueued, or orphaned once their
 * owner's lease runs out or it dies) and sends up to `concurrency` at once. Stopping aborts what
 * is in flight; each such intent is released, pending, for the next relay.
 */
export async function relayLoop(options: NormalizedOptions, relayOptions: RelayOptions = {}): Promise<void> {
  const origins = requireOrigins(options);
  const { resendExpired = false } = relayOptions;
  // A timer's wait, and how long a failed intent is parked: whole ms a store keeps.
  const pollMs = milliseconds('pollMs', relayOptions.pollMs, 1000);
  const signal = signalOf(relayOptions.signal);
  const concurrency = concurrencyOf(relayOptions.concurrency, 8);
  const states: IntentState[] = resendExpired ? ['pending', 'expired'] : ['pending'];
  const running = new Set<Promise<unknown>>();
  // A store that cannot be reached skips a round, enlisting this client as an owner included: the relay goes on.
  const claim = async (limit: number) => options.store.claim(claimRequest(options, await options.owner.id(), origins, states, limit));
  // A store that can tell when intents appear (PostgreSQL's NOTIFY) wakes the relay at once.
  let wake = () => {};
  const unwatch = options.store.watch?.(() => wake());
  while (!signal.aborted) {
    // Armed before the claim: a notification that arrives while claiming still cuts the next wait short.
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const room = concurrency - running.size;
    const askedAt = monotonicNow();
    const claimed = room > 0 ? await claim(room).catch(() => []) : [];
    for (const intent of claimed) {
      const work = finishClaimed(own(intent, options, askedAt), options, origins, resendExpired, recoveryTransport(options, pollMs), signal).finally(() => running.delete(work));
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

function claimRequest(options: NormalizedOptions, owner: string, origins: readonly string[], states: IntentState[], limit: number): ClaimRequest {
  return { scope: options.scope, origins, states, owner, leaseMs: options.leaseMs, limit };
}

function own(intent: Intent, options: NormalizedOptions, askedAt: number): Owned {
  return { intent, lease: new Lease(options.store, intent, options.leaseMs, askedAt) };
}

/** A claimed intent: expired unless resent knowingly, else sent within the client's `totalTimeout`; its outcome reported. */
async function finishClaimed(
  owned: Owned,
  options: NormalizedOptions,
  origins: readonly string[],
  resendExpired: boolean,
  transport: Transport,
  signal: AbortSignal,
): Promise<RecoveryOutcome> {
  const { intent, lease } = owned;
  const about = describe(intent, options);
  const expired = !resendExpired && (intent.state === 'expired' || isExpiredAtClaim(intent));
  // Read back from the journal: sent only if it still matches itself (a recorded origin that is
  // not its URL's included). Damaged, it is let go untouched — pending, its outcome as unknown as
  // before — and reported like a skip, with no start or end (no operation ran); never sent.
  const damaged = expired ? undefined : await refuseIfDamaged(intent, options);
  if (damaged !== undefined) {
    await lease.finish({ owner: null, leaseMs: transport.retryLaterMs ?? 0 }).catch(() => false);
    emit(options.on, 'recovery', { ...about, state: 'skipped', error: damaged });
    return { idempotencyKey: about.idempotencyKey, state: 'skipped', url: about.url, error: damaged };
  }
  // Stores select by the recorded `origin`; what counts is where the URL would send it. Released
  // untouched, reported, not sent.
  const target = sendsTo(intent);
  if (!origins.includes(target) || hasUserinfo(intent)) {
    await lease.finish({ owner: null, leaseMs: transport.retryLaterMs ?? 0 });
    return skip(intent, target, origins, options);
  }
  emit(options.on, 'start', { ...about, recovery: true, ...(intent.traceparent === undefined ? {} : { traceparent: intent.traceparent }) });
  let settlement: Settlement;
  if (expired) {
    await lease.finish({ state: 'expired', owner: null, leaseMs: 0 });
    settlement = { state: 'expired', error: expiredError(intent, options) };
  } else {
    const total = timeLimit(signal, options.totalTimeout);
    try {
      settlement = await sendOwned(owned, transport, options, signal, total.signal);
    } finally {
      total.end();
    }
    // Recovery has no caller waiting on the answer: its pass (or relay slot) ends with the outcome written.
    await settlement.journaled;
  }
  emitEnd(about, settlement, options);
  const outcome = toRecoveryOutcome(intent, settlement, options);
  emit(options.on, 'recovery', { ...about, state: outcome.state, error: outcome.error });
  return outcome;
}

/** Intents this client may not send (another origin), reported once per pass and left as they are. */
function reportSkipped(unsettled: IntentSummary[], origins: readonly string[], options: NormalizedOptions): RecoveryOutcome[] {
  const outside = unsettled.filter((intent) => !origins.includes(intent.origin) && intent.owner === null);
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
function skip(intent: IntentSummary, target: string, origins: readonly string[], options: NormalizedOptions): RecoveryOutcome {
  const about = describe(intent, options);
  const { idempotencyKey } = intent;
  const why = origins.includes(target)
    ? 'carries credentials in its URL (user:password@), which durable-fetch never sends'
    : `is for ${maskUrl(target, options.secretParams)}, which this client may not send to (origins: ${origins.join(', ')})`;
  const error = new IdempotencyError(`Intent of key "${idempotencyKey}" ${why}; skipped, not sent.`, { idempotencyKey });
  emit(options.on, 'recovery', { ...about, state: 'skipped', error });
  return { idempotencyKey: intent.idempotencyKey, state: 'skipped', url: about.url, error };
}

function toRecoveryOutcome(intent: Intent, { state = 'pending', answer, error, ...details }: Settlement, options: NormalizedOptions): RecoveryOutcome {
  const { idempotencyKey, url } = describe(intent, options);
  const outcome: RecoveryOutcome = { idempotencyKey, state: state as RecoveryOutcome['state'], url };
  if (error !== undefined) outcome.error = error;
  else if (answer !== undefined) outcome.response = toDurableResponse({ answer: { ...answer, url: maskUrl(answer.url, options.secretParams) }, idempotencyKey, ...details });
  return outcome;
}

/**
 * An operator's verdict on an unknown outcome (checked with the API): `expired`, or `pending`
 * with nobody holding it, becomes `succeeded` or `failed` for good. A pending intent is claimed
 * first, so no owner can be sending it while it is settled; a parked one (a server's
 * Retry-After), which nobody may claim before its wait is over, is settled at the version read,
 * with nobody holding it — the verdict sends nothing, so it need not wait.
 */
export async function resolveIntent(options: NormalizedOptions, intent: Pick<PendingIntent, 'scope' | 'id'>, state: 'succeeded' | 'failed'): Promise<void> {
  if (state !== 'succeeded' && state !== 'failed') throw new TypeError(`resolve() settles an intent as 'succeeded' or 'failed', got ${String(state)}.`);
  const stored = await options.store.get(intent.scope, intent.id);
  if (stored === undefined) throw new TypeError(`No intent ${intent.id} in scope ${intent.scope}.`);
  const { idempotencyKey } = stored;
  if (stored.state !== 'expired' && stored.state !== 'pending') {
    throw new IdempotencyError(`Intent of key "${idempotencyKey}" cannot be resolved: it is already ${stored.state}.`, { idempotencyKey });
  }
  let version = stored.version;
  if (stored.state === 'pending') {
    const owner = await options.owner.id();
    const [claimed] = await options.store.claim({ scope: stored.scope, origins: [stored.origin], states: ['pending'], owner, leaseMs: options.leaseMs, limit: 1, id: stored.id });
    // Unowned yet not claimable: parked. Written at the version read, the verdict fails if anyone has taken it since.
    if (claimed === undefined && stored.owner !== null) {
      throw new IdempotencyError(`Intent of key "${idempotencyKey}" cannot be resolved: an owner is still working on it.`, { idempotencyKey });
    }
    if (claimed !== undefined) version = claimed.version;
  }
  const written = await options.store.update(stored.scope, stored.id, version, { state, owner: null, leaseMs: 0 });
  if (written === undefined) throw new IdempotencyError(`Intent of key "${idempotencyKey}" changed while it was being resolved; look again.`, { idempotencyKey });
}
