/**
 * The attempt loop: p-retry runs the attempts, counts the retries, stops at the limit and on an
 * abort; before each retry it asks the one retry decision (retry-decision.ts), spends what the
 * budget charges, says so, and waits — p-retry's own delays stay off, since a server's Retry-After
 * and the policy's full-jitter backoff are what pace a retry, not p-retry's exponential steps.
 * Plain reads get the same policy as ky's retry options (`kyRetry`).
 */
import { HTTPError, type RetryOptions as KyRetryOptions } from 'ky';
import pRetry from 'p-retry';
import { decideRetry, isUnanswered, parseRetryAfter, type RetryAffordance, type RetryDecision } from './retry-decision.js';
import type { RetryPolicy } from './retry-policy.js';
import { sleep } from './time-limit.js';

export type { RetryOptions, RetryPolicy } from './retry-policy.js';
export { normalizeRetry } from './retry-policy.js';
export { RetryableAnswer } from './retryable-answer.js';
export { MAX_RETRY_AFTER_MS, parseRetryAfter, retryReason } from './retry-decision.js';

export interface RetryEvent {
  /** The retry about to happen, 1-based. */
  attempt: number;
  delay: number;
  reason: string;
  error: unknown;
}

/** A retry budget as the loop uses it: asked (`RetryAffordance`), then charged for a retry made. */
export interface RetryCharge extends RetryAffordance {
  spend(cost: number): void;
}

export interface RetryLoop {
  policy: RetryPolicy;
  signal: AbortSignal | undefined;
  budget?: RetryCharge | undefined;
  /** A retry about to be made, after its wait. */
  onRetry?(event: RetryEvent): void;
  /** The loop stopped short of a success: why (the last decision), before the attempt's failure is thrown on. */
  onStop?(decision: Extract<RetryDecision, { retry: false }>, failure: unknown): void;
}

/**
 * Runs `attempt` until it returns, retrying network errors, per-attempt timeouts and
 * `RetryableAnswer`s with the same inputs, as `decideRetry` says.
 */
export function withRetries<T>(attempt: (attemptNumber: number) => Promise<T>, loop: RetryLoop): Promise<T> {
  const { policy, signal, budget } = loop;
  return pRetry(attempt, {
    retries: policy.limit,
    minTimeout: 0,
    maxTimeout: 0,
    signal,
    async shouldRetry({ error, retriesConsumed }) {
      if (signal?.aborted) return false;
      const decision = decideRetry({ failure: error, retry: retriesConsumed + 1, policy, budget, now: Date.now(), offline: reportsOffline() });
      if (!decision.retry) {
        loop.onStop?.(decision, error);
        return false;
      }
      budget?.spend(decision.cost);
      loop.onRetry?.({ attempt: retriesConsumed + 1, delay: decision.delayMs, reason: decision.reason, error });
      await sleep(decision.delayMs, signal);
      return true;
    },
  });
}

/**
 * The policy as ky's retry options, for plain reads: the same waits as keyed calls (the backoff or
 * `retry.delay`, a `Retry-After` up to `maxRetryAfter`), and the same two stops, as
 * `shouldRetry` (`false` stops, `undefined` leaves it to ky): a longer `Retry-After` is not waited
 * for — ky would wait `maxRetryAfter` instead — and nothing is retried while offline.
 */
export function kyRetry({ limit, delay, backoffLimit, maxRetryAfter }: RetryPolicy): KyRetryOptions {
  return {
    limit,
    delay,
    backoffLimit,
    maxRetryAfter,
    shouldRetry: ({ error }) =>
      (isUnanswered(error) && reportsOffline()) || (error instanceof HTTPError && (parseRetryAfter(error.response.headers.get('retry-after')) ?? 0) > maxRetryAfter) ? false : undefined,
  };
}

/**
 * A browser that says it is offline fails every attempt at once: retrying would spend the whole
 * budget in a tight loop and gain nothing. The call stops, its intent stays pending and released,
 * and the `online` event (autoRecover) or the next page sends it. Node and Deno have no
 * `navigator.onLine`: never offline.
 */
function reportsOffline(): boolean {
  return (globalThis.navigator as { onLine?: boolean } | undefined)?.onLine === false;
}

