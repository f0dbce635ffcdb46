/**
 * One logical operation: key → journal → own → attempts → classify → settle.
 *
 * Nothing is sent until the intent's `create` has resolved (one durable commit on the critical
 * path). The outcome is recorded after the caller has its answer: if the process dies first, the
 * intent is still pending under the same key, and recovery gets the server's replay.
 */
import { HTTPError, type NormalizedOptions as KyNormalizedOptions, TimeoutError } from 'ky';
import { sendAttempt } from './attempt.js';
import { classifyAnswer, parseBody, type Verdict } from './classify.js';
import { isSecretName, maskUrl } from './credentials.js';
import {
  IdempotencyConflictError,
  IdempotencyError,
  IdempotencyKeyExpiredError,
  IdempotencyKeyInvalidError,
  IdempotencyMismatchError,
  IdempotencyStoreError,
} from './errors.js';
import { emit, traceparentOf } from './events.js';
import { refuseIfDamaged } from './integrity.js';
import { formatKey } from './key.js';
import type { NormalizedOptions } from './options.js';
import { Lease, monotonicNow } from './ownership.js';
import { mergeHeaders, type PreparedCall } from './request.js';
import { sleep, timeLimit } from './time-limit.js';
import { type Answer, answerText, fromStoredResponse, toResponse, toStoredResponse } from './response.js';
import { reachedServer } from './reach.js';
import { parseRetryAfter, RetryableAnswer, type RetryEvent, type RetryPolicy, retryReason, withRetries } from './retry.js';
import type { RetryAccount } from './retry-budget.js';
import { type Intent, type IntentChange, type IntentState, isExpiredAtClaim, isKnownState, PayloadTooLargeError } from './stores/store.js';

/** How one logical operation ended, for the caller and for `recover()`. */
export interface Settlement {
  /** The intent's state afterwards; undefined when the journal was left untouched. */
  state: IntentState | undefined;
  answer?: Answer;
  error?: unknown;
  /** Default false. */
  replayed?: boolean;
  /** Attempts this call made; default 0 (the journal answered). */
  attempts?: number;
  /** Resolves once the outcome is in the journal (or could not be written). */
  journaled?: Promise<unknown>;
}

/** How requests of one operation go out: the headers of this moment (credentials included), limits, retries. */
export interface Transport {
  headers: Headers;
  timeout: number | false;
  retry: RetryPolicy;
  /** When it gives up for now, the intent is left to others after this many ms (0: at once). */
  retryLaterMs?: number;
  /** The intent's URL, where the caller has it parsed already. */
  url?: URL;
  /** Set by `recover()` and `relay()`: their retries leave the retry budget's reserve to live calls. */
  recovery?: boolean;
}

/** An intent this client owns now, with its lease. */
export interface Owned {
  intent: Intent;
  lease: Lease;
}

/**
 * A call's operation: journal it (or find it journaled), take ownership, send, settle. `totalTimeout`
 * bounds all of it, a wait for another owner included. Its callers emit `start` and `end`, each its own.
 */
export async function runCall(call: PreparedCall, options: NormalizedOptions, signal: AbortSignal): Promise<Settlement> {
  const total = timeLimit(signal, call.totalTimeout);
  return operate(call, options, signal, total.signal)
    .catch((error: unknown): Settlement => ({ state: error instanceof WaitedForOwner ? 'pending' : undefined, error: stoppedWaiting(error, signal, total.expired) }))
    .finally(() => total.end());
}

async function operate(call: PreparedCall, options: NormalizedOptions, signal: AbortSignal, deadline: AbortSignal): Promise<Settlement> {
  const acquired = await acquire(call, options, deadline);
  return 'state' in acquired ? acquired : sendOwned(acquired, call, options, signal, deadline);
}

/** The operation's end, for traces and logs: how it settled and whether the journal answered. */
export function emitEnd(about: OperationAbout, { state, replayed = false, attempts = 0, error }: Settlement, options: NormalizedOptions): void {
  emit(options.on, 'end', { ...about, state, replayed, attempts, ...(error === undefined ? {} : { error }) });
}

/**
 * Sends an owned intent until it settles, gives up for now, or ownership is lost; records the
 * result. `deadline` (the caller's signal under its total time limit) ends the attempts.
 */
export async function sendOwned(
  { intent, lease }: Owned,
  transport: Transport,
  options: NormalizedOptions,
  signal: AbortSignal,
  deadline: AbortSignal,
): Promise<Settlement> {
  const about = describe(intent, options);
  const url = transport.url ?? new URL(intent.url);
  const { origin } = url;
  const headers = wireHeaders(transport.headers, intent, options.secretParams);
  const quota = options.retryBudget?.open(origin, transport.recovery === true);

  let attempts = 0;
  const attempt = async (): Promise<{ answer: Answer; verdict: Verdict }> => {
    // Every attempt, the first included, goes out only under a lease this owner surely holds.
    const held = await lease.check();
    if (held !== 'held') throw held === 'lost' ? new OwnershipLost() : new LeaseUnconfirmed();
    attempts++;
    emit(options.on, 'attempt', { ...about, attempt: intent.attempts + attempts });
    const number = intent.attempts + attempts;
    const answer = await sendAttempt({ url, method: intent.method, headers, body: intent.body, shownUrl: about.url, idempotencyKey: intent.idempotencyKey }, transport.timeout, deadline, options).catch((error: unknown) => {
      emit(options.on, 'attemptEnd', { ...about, attempt: number, error, reachedServer: reachedServer(error) });
      throw error;
    });
    emit(options.on, 'attemptEnd', { ...about, attempt: number, status: answer.status, reachedServer: true });
    const verdict = classifyAnswer(answer, options);
    if (verdict.kind === 'transient' || verdict.kind === 'conflict') throw new RetryableAnswer(answer, verdict);
    return { answer, verdict };
  };

  let result: { answer: Answer; verdict: Verdict };
  try {
    // An answer to retry is said as the error it would end the call with: the HTTPError (or
    // idempotency error) a catcher knows, its URL masked — never the raw answer.
    const onRetry = (event: RetryEvent) => {
      const error = event.error instanceof RetryableAnswer ? answerError(event.error.verdict, event.error.answer, intent, options) : event.error;
      emit(options.on, 'retry', { ...about, ...event, error, reachedServer: reachedServer(event.error) });
    };
    result = await withRetries(attempt, transport.retry, deadline, onRetry, (error) => mayRetry(error, quota, about, options));
  } catch (error) {
    // Given up for now: the intent stays pending, released at once so recovery need not wait out the lease.
    // A server that asked for a long wait (Retry-After beyond maxRetryAfter) gets it: parked, nobody claims it until then —
    // at most MAX_RETRY_AFTER_MS (a week) from now, however long it asked (parseRetryAfter).
    const wait = Math.max(transport.retryLaterMs ?? 0, error instanceof RetryableAnswer ? (retryAfter(error) ?? 0) : 0);
    // Awaited, unlike an outcome: a caller that recovers right after a failure must find the intent free.
    await lease.finish({ state: 'pending', attempts: intent.attempts + attempts, owner: null, leaseMs: wait });
    return { state: 'pending', ...givenUp(error, intent, options, signal, deadline, quota), attempts };
  }

  const { answer, verdict } = result;
  const state = verdict.kind === 'success' ? 'succeeded' : 'failed';
  if (state === 'succeeded') quota?.succeeded();
  const journaled = recordOutcome(lease, { state, attempts: intent.attempts + attempts, owner: null, leaseMs: 0, response: toStoredResponse(answer, options.secretParams) }, about, options);
  if (verdict.kind === 'success') {
    if (verdict.replayed) emit(options.on, 'replay', { ...about, status: answer.status });
    return { state, answer, replayed: verdict.replayed, attempts, journaled };
  }
  return { state, answer, error: answerError(verdict, answer, intent, options), attempts, journaled };
}

/**
 * Writes a final answer, until it lands (`Lease.settle`). An answer too big for the store settles
 * the intent without it — the caller has it already, and it must never be sent again on its own —
 * and says so (event `unstoredAnswer`); a repeat of the key is then refused, not sent.
 */
function recordOutcome(lease: Lease, change: IntentChange, about: OperationAbout, options: NormalizedOptions): Promise<boolean> {
  return lease.settle(change).catch((error: unknown) => {
    if (!(error instanceof PayloadTooLargeError)) return false;
    emit(options.on, 'unstoredAnswer', { ...about, state: change.state as 'succeeded' | 'failed', reason: error.message });
    return lease.settle({ ...change, response: undefined }).catch(() => false);
  });
}

/**
 * What an owned intent is sent with: the transport's headers (the credentials of this moment),
 * the intent's stored ones and its own key header. A call's headers hold all of that already,
 * as long as the intent is the one it journaled: then they go as they are, with no copy.
 *
 * Stored headers are read back from a journal that another program, version or hand may have
 * written: a credential-like name there is dropped (the client never journals one), so a row can
 * neither carry a credential nor override the client's.
 */
function wireHeaders(headers: Headers, intent: Intent, secretParams: ReadonlySet<string>): Headers {
  const key = formatKey(intent.idempotencyKey, intent.keyFormat);
  const complete = headers.get(intent.keyHeader) === key && Object.entries(intent.headers).every(([name, value]) => headers.get(name) === value);
  if (complete) return headers;
  const merged = mergeHeaders(headers);
  for (const [name, value] of Object.entries(intent.headers)) if (!isSecretName(name, secretParams)) merged.set(name, value);
  merged.set(intent.keyHeader, key);
  return merged;
}

/** Why an attempt loop stopped without a final answer, as the error the caller sees. */
function givenUp(error: unknown, intent: Intent, options: NormalizedOptions, signal: AbortSignal, deadline: AbortSignal, quota: RetryAccount | undefined): Pick<Settlement, 'answer' | 'error'> {
  if (signal.aborted) return { error: signal.reason };
  if (deadline.aborted) return { error: timeoutError(describe(intent, options)) };
  if (error instanceof OwnershipLost) {
    return { error: new IdempotencyConflictError(`Key "${intent.idempotencyKey}" was taken over by another owner after this one's lease ran out; this call stopped sending.`, { idempotencyKey: intent.idempotencyKey }) };
  }
  if (error instanceof LeaseUnconfirmed) {
    return {
      error: storeError(
        `Could not renew the lease on the intent of key "${intent.idempotencyKey}" before its next attempt; that attempt was not sent and the intent stays pending`,
        intent.idempotencyKey,
        error.cause,
      ),
    };
  }
  // The budget, not the retry limit, ended it: said so, with the failure that was not retried as the cause.
  if (quota?.stoppedAfter !== undefined) return { error: quota.error(intent.idempotencyKey, describe(intent, options), lastFailure(error, intent, options).error) };
  return lastFailure(error, intent, options);
}

/** The last attempt's failure, as the error the caller sees. */
function lastFailure(error: unknown, intent: Intent, options: NormalizedOptions): Pick<Settlement, 'answer' | 'error'> {
  if (error instanceof RetryableAnswer) return { answer: error.answer, error: answerError(error.verdict, error.answer, intent, options) };
  // Down or slow: a catcher (or a dashboard) can tell a request that never left from one that may have been applied.
  if (error instanceof Error) Object.assign(error, { reachedServer: reachedServer(error) });
  return { error };
}

/** The client's retry budget decides whether a retry the policy allows goes ahead (its rules: retry-budget.ts). */
function mayRetry(error: unknown, quota: RetryAccount | undefined, about: OperationAbout, options: NormalizedOptions): boolean {
  if (quota === undefined || quota.trySpend(error)) return true;
  emit(options.on, 'throttle', { ...about, origin: quota.origin, tokens: quota.tokens, reason: retryReason(error), reachedServer: reachedServer(error) });
  return false;
}

/** The wait a server asked for with Retry-After, ms. */
function retryAfter(error: RetryableAnswer): number | undefined {
  return parseRetryAfter(error.answer.headers.get('retry-after'));
}

/** ky's TimeoutError for a call's total time limit, naming the request without a secret. */
export function timeoutError({ method, url }: OperationAbout): TimeoutError {
  return new TimeoutError(new Request(url, { method }));
}

/** A call stopped while it waited for another owner: by its caller, or by its total time limit. */
class WaitedForOwner extends Error {
  constructor(
    readonly intent: Intent,
    readonly reason: unknown,
  ) {
    super('stopped waiting for another owner');
  }
}

/** What a call that stopped before it owned its intent rejects with. */
function stoppedWaiting(error: unknown, signal: AbortSignal, expired: boolean): unknown {
  if (!(error instanceof WaitedForOwner)) return error;
  if (signal.aborted || !expired) return error.reason;
  const { idempotencyKey, owner, leaseUntil } = error.intent;
  return new IdempotencyConflictError(
    `Key "${idempotencyKey}" is being sent by another owner (${owner}, lease until about ${new Date(leaseUntil).toISOString()}); ` +
      'this call waited for it until its totalTimeout ran out and sent nothing. The intent stays pending with that owner.',
    { idempotencyKey },
  );
}

/** The lease ran out and someone else claimed the intent: stop, write nothing. */
class OwnershipLost extends Error {}

/** The lease ran out while the store could not be reached to renew it: nothing may be sent. */
class LeaseUnconfirmed extends Error {}

/** How long a caller waits between looks at an intent another owner holds. */
const OWNER_POLL_MS = 250;

/**
 * Journals the call's intent, or finds it journaled: answered from the journal, refused, or
 * pending — then it takes the intent over as soon as no live owner holds it (a claim of that one
 * intent, which the store grants when the lease has ended or the owner is gone), saying while it
 * waits (event `ownerWait`). `deadline` ends the wait.
 */
async function acquire(call: PreparedCall, options: NormalizedOptions, deadline: AbortSignal): Promise<Owned | Settlement> {
  const store = guardedStore(call, options);
  const owner = await store.owner();
  const fresh = newIntent(call, options, owner);
  let askedAt = monotonicNow();
  let existing = await store.create(fresh);
  if (existing === undefined) options.housekeeping.journaled();
  let waitingFor: string | undefined;
  let unownedBefore = false;
  for (;;) {
    if (existing === undefined) return { intent: fresh, lease: new Lease(options.store, fresh, options.leaseMs, askedAt) };
    const answered = answerFromJournal(existing, call, options);
    if (answered !== undefined) return answered;
    askedAt = monotonicNow();
    const [claimed] = await store.claimOne(owner, existing.origin);
    if (claimed !== undefined) {
      const lease = new Lease(options.store, claimed, options.leaseMs, askedAt);
      if (!isExpiredAtClaim(claimed)) {
        // Read back from the journal: sent only if it still matches itself. Damaged, it is let go untouched.
        const damaged = await refuseIfDamaged(claimed, options);
        if (damaged === undefined) return { intent: claimed, lease };
        await lease.finish({ owner: null, leaseMs: 0 }).catch(() => false);
        return { state: 'pending', error: damaged };
      }
      // The key's TTL passed while nobody held it: an unknown outcome, kept and refused.
      await lease.finish({ state: 'expired', owner: null, leaseMs: 0 });
      return answerFromJournal({ ...claimed, state: 'expired' }, call, options)!;
    }
    askedAt = monotonicNow();
    existing = (await store.get()) ?? (await store.create(fresh));
    if (existing?.state !== 'pending') continue;
    // Unowned yet not claimable: parked — unless it was released just after the claim looked.
    if (existing.owner === null) {
      if (unownedBefore) return parked(existing, options);
      unownedBefore = true;
      continue;
    }
    unownedBefore = false;
    if (existing.owner !== waitingFor) {
      waitingFor = existing.owner;
      emit(options.on, 'ownerWait', { ...describe(existing, options), owner: existing.owner, leaseUntil: existing.leaseUntil });
    }
    const owned = existing;
    await sleep(OWNER_POLL_MS, deadline).catch((reason: unknown) => {
      throw new WaitedForOwner(owned, reason);
    });
  }
}

/**
 * Nobody holds the intent, yet it may not be claimed: a server asked for a wait longer than
 * `maxRetryAfter` (Retry-After), and the intent is parked until then. Nothing is sent now.
 */
function parked(intent: Intent, options: NormalizedOptions): Settlement {
  const { idempotencyKey } = intent;
  const until = new Date(intent.leaseUntil).toISOString();
  const error = new IdempotencyError(
    `Key "${idempotencyKey}" is parked until about ${until}: the server asked for that wait (Retry-After). Nothing was sent; ` +
      'recover() or relay() sends it once the wait is over.',
    { idempotencyKey },
  );
  emit(options.on, 'journalAnswer', { ...describe(intent, options), state: 'pending' });
  return { state: 'pending', error };
}

/** What the journal already knows settles the call without a request, or says to send it. */
function answerFromJournal(existing: Intent, call: PreparedCall, options: NormalizedOptions): Settlement | undefined {
  if (existing.fingerprint !== call.fingerprint) return mismatch(call, options);
  const about = describe(existing, options);
  if (existing.state === 'expired') {
    emit(options.on, 'journalAnswer', { ...about, state: 'expired' });
    return { state: 'expired', error: expiredError(existing, options) };
  }
  if (existing.state === 'pending') return undefined;
  const { idempotencyKey } = existing;
  if (!isKnownState(existing.state)) {
    return { state: undefined, error: new IdempotencyError(`Key "${idempotencyKey}" is in state "${existing.state}", written by a newer version of durable-fetch; nothing was sent.`, { idempotencyKey }) };
  }
  if (existing.response === undefined) {
    // Settled by an operator (resolve()), or answered with more than the store keeps: there is no
    // answer to give, and nothing may be sent.
    return {
      state: existing.state,
      error: new IdempotencyError(
        `Key "${idempotencyKey}" is settled as ${existing.state} with no answer stored (settled by an operator, or its answer was too big to journal); nothing was sent.`,
        { idempotencyKey },
      ),
    };
  }
  // The call's own URL: the journal's row may have been written by another program.
  const answer = fromStoredResponse(existing.response, call.url.href);
  emit(options.on, 'journalAnswer', { ...about, state: existing.state });
  if (existing.state === 'succeeded') return { state: 'succeeded', answer, replayed: true, attempts: 0 };
  const verdict = classifyAnswer(answer, options);
  return { state: 'failed', answer, error: answerError(verdict, answer, existing, options) };
}

/** The key already stands for another request on this route: refused before anything is sent. */
export function mismatch(call: PreparedCall, options: NormalizedOptions): Settlement {
  const error = new IdempotencyMismatchError(
    `Key "${call.idempotencyKey}" was already used for a different ${call.method} ${maskUrl(call.url.href, options.secretParams)} request (other body or query); nothing was sent. ` +
      'If this is a new operation, use a new key; if it is the same one, send exactly the same request.',
    { idempotencyKey: call.idempotencyKey },
  );
  return { state: undefined, error };
}

/**
 * The record journaled before the first attempt: owned by `owner` from the start (null: enqueued,
 * for a relay). Its times are this process's; the store re-bases them on its own clock.
 */
export function newIntent(call: PreparedCall, options: NormalizedOptions, owner: string | null): Intent {
  const now = Date.now();
  const intent: Intent = {
    scope: call.scope,
    id: call.id,
    idempotencyKey: call.idempotencyKey,
    method: call.method,
    url: call.url.href,
    origin: call.url.origin,
    headers: call.persistedHeaders,
    keyHeader: call.keyHeader,
    keyFormat: call.keyFormat,
    fingerprint: call.fingerprint,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + options.keyTtlMs,
    attempts: 0,
    state: 'pending',
    owner,
    leaseUntil: owner === null ? 0 : now + options.leaseMs,
    version: 1,
  };
  // Set only when there is one: a record has no `body` or `traceparent` key at all otherwise.
  if (call.body !== undefined) intent.body = call.body;
  const traceparent = traceparentOf(options.on, () => describeCall(call, options));
  if (traceparent !== undefined) intent.traceparent = traceparent;
  return intent;
}

/** The store as a call sees it before sending: every failure is an `IdempotencyStoreError`, and nothing has been sent. */
function guardedStore(call: PreparedCall, options: NormalizedOptions) {
  const { store } = options;
  const guard = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (cause) {
      throw storeError(`Could not ${what} the intent of key "${call.idempotencyKey}"; nothing was sent`, call.idempotencyKey, cause);
    }
  };
  return {
    owner: () => guard('enlist an owner for', () => options.owner.id()),
    get: () => guard('read', () => store.get(call.scope, call.id)),
    create: (intent: Intent) => guard('journal', () => store.create(intent)),
    claimOne: (owner: string, origin: string) =>
      guard('take over', () => store.claim({ scope: call.scope, origins: [origin], states: ['pending'], owner, leaseMs: options.leaseMs, limit: 1, id: call.id })),
  };
}

export function storeError(what: string, idempotencyKey: string, cause: unknown): IdempotencyStoreError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new IdempotencyStoreError(`${what}: ${reason}`, { idempotencyKey, cause });
}

export function expiredError(intent: Pick<Intent, 'idempotencyKey'>, options: NormalizedOptions): IdempotencyKeyExpiredError {
  return new IdempotencyKeyExpiredError(
    `Key "${intent.idempotencyKey}" is older than keyTtlMs (${options.keyTtlMs} ms) and its outcome is unknown: not resent, as the server may ` +
      "have forgotten the key and run it twice. Check with the API, then settle it with resolve(), or resend it knowingly with recover({ resendExpired: true }).",
    { idempotencyKey: intent.idempotencyKey },
  );
}

/** What events and messages say about an operation. */
export type OperationAbout = ReturnType<typeof describe>;

/** What the events and messages say about an intent: never its body, headers or a secret in its URL. */
export function describe(intent: Pick<Intent, 'idempotencyKey' | 'method' | 'url'>, options: NormalizedOptions) {
  // A journal row may hold what the client never writes (userinfo): shown without it.
  return { idempotencyKey: intent.idempotencyKey, method: intent.method, url: maskUrl(String(intent.url), options.secretParams) };
}

/** describe() of a call, whose URL is still parsed. */
export function describeCall(call: PreparedCall, options: NormalizedOptions) {
  return describe({ idempotencyKey: call.idempotencyKey, method: call.method, url: call.url.href }, options);
}

/** What each kind of server refusal says, and what to do about it. */
const REFUSALS = {
  mismatch: [IdempotencyMismatchError, 'was used for another request'],
  'invalid-key': [IdempotencyKeyInvalidError, 'is invalid'],
  conflict: [IdempotencyConflictError, 'is still in flight; the intent stays pending'],
} as const;

/** The error a final (or finally retried-out) non-2xx answer stands for. */
export function answerError(verdict: Verdict, answer: Answer, intent: Pick<Intent, 'idempotencyKey' | 'method' | 'url'>, options: NormalizedOptions): Error {
  const code = verdict.kind === 'success' ? undefined : verdict.code;
  const refusal = verdict.kind === 'conflict' && !verdict.signal ? undefined : REFUSALS[verdict.kind as keyof typeof REFUSALS];
  // The answer's URL (a redirect's, maybe) is shown as any URL is.
  const response = toResponse({ ...answer, url: maskUrl(answer.url, options.secretParams) });
  const { idempotencyKey, method, url } = describe(intent, options);
  if (refusal === undefined) {
    // The request in the error names what was sent, never with its credentials.
    const error = new HTTPError(response, new Request(url, { method }), {} as KyNormalizedOptions);
    const text = answerText(answer);
    return Object.assign(error, { idempotencyKey, data: text === '' ? undefined : parseBody(text) });
  }
  const [ErrorClass, says] = refusal;
  return new ErrorClass(`Server says key "${idempotencyKey}" ${says} (${answer.status} on ${method} ${url}).`, { idempotencyKey, status: answer.status, code, response });
}
