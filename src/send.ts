/**
 * Sending an owned intent: attempts under a lease surely held, retried with the same key as the
 * retry policy and budget allow, then the outcome written until it lands — or the intent released,
 * pending, when the call gives up for now.
 */
import { HTTPError } from 'ky';
import { describe } from './about.js';
import { sendAttempt } from './attempt.js';
import { answerError, LeaseUnconfirmed, OwnershipLost, storeError, timeoutError } from './call-errors.js';
import type { OperationAbout, Owned, Settlement, Transport } from './call-types.js';
import { classifyAnswer, type Verdict } from './classify.js';
import { isSecretName } from './credentials.js';
import { IdempotencyConflictError } from './errors.js';
import { emit } from './events.js';
import { formatKey } from './key.js';
import { Lease } from './ownership.js';
import { reachedServer } from './reach.js';
import { mergeHeaders } from './request.js';
import { type Answer, toStoredResponse } from './response.js';
import type { RetryAccount } from './retry-budget.js';
import { parseRetryAfter, RetryableAnswer, type RetryEvent, withRetries } from './retry.js';
import type { ClientRuntime } from './runtime.js';
import { type Intent, type IntentChange, PayloadTooLargeError } from './stores/store.js';

/**
 * Sends an owned intent until it settles, gives up for now, or ownership is lost; records the
 * result. `deadline` (the caller's signal under its total time limit) ends the attempts.
 */
export async function sendOwned(
  { intent, lease }: Owned,
  transport: Transport,
  runtime: ClientRuntime,
  signal: AbortSignal,
  deadline: AbortSignal,
): Promise<Settlement> {
  const about = describe(intent, runtime);
  const url = transport.url ?? new URL(intent.url);
  const { origin } = url;
  const headers = wireHeaders(transport.headers, intent, runtime.config.secretParams);
  const quota = runtime.retryBudget?.open(origin, transport.recovery === true);
  let attempts = 0;
  const attempt = async (): Promise<{ answer: Answer; verdict: Verdict }> => {
    // Every attempt, the first included, goes out only under a lease this owner surely holds.
    const held = await lease.check();
    if (held !== 'held') throw held === 'lost' ? new OwnershipLost() : new LeaseUnconfirmed();
    attempts++;
    emit(runtime.config.on, 'attempt', { ...about, attempt: intent.attempts + attempts });
    const number = intent.attempts + attempts;
    const answer = await sendAttempt({ url, method: intent.method, headers, body: intent.body, shownUrl: about.url, idempotencyKey: intent.idempotencyKey }, transport.timeout, deadline, runtime).catch((error: unknown) => {
      emit(runtime.config.on, 'attemptEnd', { ...about, attempt: number, error, reachedServer: reachedServer(error) });
      throw error;
    });
    emit(runtime.config.on, 'attemptEnd', { ...about, attempt: number, status: answer.status, reachedServer: true });
    const verdict = classifyAnswer(answer, runtime.config);
    if (verdict.kind === 'transient' || verdict.kind === 'conflict') throw new RetryableAnswer(answer, verdict);
    return { answer, verdict };
  };
  let result: { answer: Answer; verdict: Verdict };
  try {
    // An answer to retry is said as the error it would end the call with: the HTTPError (or
    // idempotency error) a catcher knows, its URL masked — never the raw answer.
    const onRetry = (event: RetryEvent) => {
      const error = event.error instanceof RetryableAnswer ? answerError(event.error.verdict, event.error.answer, intent, runtime) : event.error;
      emit(runtime.config.on, 'retry', { ...about, ...event, error, reachedServer: reachedServer(event.error) });
    };
    result = await withRetries(attempt, {
      policy: transport.retry,
      signal: deadline,
      budget: quota,
      onRetry,
      onStop(decision, failure) {
        if (decision.because !== 'budget' || quota === undefined) return;
        quota.stop(decision.reason);
        emit(runtime.config.on, 'throttle', { ...about, origin, tokens: quota.tokens, reason: decision.reason, reachedServer: reachedServer(failure) });
      },
    });
  } catch (error) {
    // Given up for now: the intent stays pending, released at once so recovery need not wait out the lease.
    // A server that asked for a long wait (Retry-After beyond maxRetryAfter) gets it: parked, nobody claims it until then —
    // at most MAX_RETRY_AFTER_MS (a week) from now, however long it asked (parseRetryAfter).
    const wait = Math.max(transport.retryLaterMs ?? 0, error instanceof RetryableAnswer ? (retryAfter(error) ?? 0) : 0);
    // Awaited, unlike an outcome: a caller that recovers right after a failure must find the intent free.
    await lease.finish({ state: 'pending', attempts: intent.attempts + attempts, owner: null, leaseMs: wait });
    return { state: 'pending', ...givenUp(error, intent, runtime, signal, deadline, quota), attempts };
  }
  const { answer, verdict } = result;
  const state = verdict.kind === 'success' ? 'succeeded' : 'failed';
  if (state === 'succeeded') quota?.succeeded();
  const journaled = recordOutcome(lease, { state, attempts: intent.attempts + attempts, owner: null, leaseMs: 0, response: toStoredResponse(answer, runtime.config.secretParams) }, about, runtime);
  if (verdict.kind === 'success') {
    if (verdict.replayed) emit(runtime.config.on, 'replay', { ...about, status: answer.status });
    return { state, answer, replayed: verdict.replayed, attempts, journaled };
  }
  return { state, answer, error: answerError(verdict, answer, intent, runtime), attempts, journaled };
}
/**
 * Writes a final answer, until it lands (`Lease.settle`). An answer too big for the store settles
 * the intent without it — the caller has it already, and it must never be sent again on its own —
 * and says so (event `unstoredAnswer`); a repeat of the key is then refused, not sent.
 */
function recordOutcome(lease: Lease, change: IntentChange, about: OperationAbout, runtime: ClientRuntime): Promise<boolean> {
  return lease.settle(change).catch((error: unknown) => {
    if (!(error instanceof PayloadTooLargeError)) return false;
    emit(runtime.config.on, 'unstoredAnswer', { ...about, state: change.state as 'succeeded' | 'failed', reason: error.message });
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
function givenUp(error: unknown, intent: Intent, runtime: ClientRuntime, signal: AbortSignal, deadline: AbortSignal, quota: RetryAccount | undefined): Pick<Settlement, 'answer' | 'error'> {
  if (signal.aborted) return { error: signal.reason };
  if (deadline.aborted) return { error: timeoutError(describe(intent, runtime)) };
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
  if (quota?.stoppedAfter !== undefined) return { error: quota.error(intent.idempotencyKey, describe(intent, runtime), lastFailure(error, intent, runtime).error) };
  return lastFailure(error, intent, runtime);
}
/** The last attempt's failure, as the error the caller sees. */
function lastFailure(error: unknown, intent: Intent, runtime: ClientRuntime): Pick<Settlement, 'answer' | 'error'> {
  if (error instanceof RetryableAnswer) return { answer: error.answer, error: answerError(error.verdict, error.answer, intent, runtime) };
  // Down or slow: a catcher (or a dashboard) can tell a request that never left from one that may have been applied.
  if (error instanceof Error) Object.assign(error, { reachedServer: reachedServer(error) });
  return { error };
}
/** The wait a server asked for with Retry-After, ms. */
function retryAfter(error: RetryableAnswer): number | undefined {
  return parseRetryAfter(error.answer.headers.get('retry-after'));
}
