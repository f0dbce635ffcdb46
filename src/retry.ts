import { HTTPError, NetworkError, type RetryOptions as KyRetryOptions, TimeoutError } from 'ky';
import pRetry from 'p-retry';
import { sleep } from './time-limit.js';
import type { Verdict } from './classify.js';
import type { Answer } from './response.js';

/** How retries are paced. A number is shorthand for `{ limit }`. */
export interface RetryOptions {
  /** Retries after the first attempt (attempts = limit + 1), as in ky. Default 2. */
  limit?: number;
  /** Milliseconds to wait before retry number `attempt` (1-based). Default: full-jitter exponential backoff from 300 ms. */
  delay?: (attempt: number) => number;
  /** Upper bound of the default backoff, ms. Default 30 000. */
  backoffLimit?: number;
  /**
   * A `Retry-After` longer than this (ms) is not waited for: the call gives up and the intent stays
   * pending, parked for the wait asked (at most `MAX_RETRY_AFTER_MS`, a week). Default 60 000.
   */
  maxRetryAfter?: number;
}

export interface RetryPolicy {
  limit: number;
  delay: (attempt: number) => number;
  /** The most `delay` waits: `backoffLimit` for the default backoff; a `retry.delay` of the caller's is taken as it is. */
  backoffLimit: number;
  maxRetryAfter: number;
}

export function normalizeRetry(retry: number | RetryOptions | undefined): RetryPolicy {
  const options = typeof retry === 'number' ? { limit: retry } : (retry ?? {});
  const limit = options.limit ?? 2;
  const backoffLimit = options.backoffLimit ?? 30_000;
  const maxRetryAfter = options.maxRetryAfter ?? 60_000;
  if (typeof options !== 'object') throw new TypeError(`retry must be a number or an object, got ${String(retry)}.`);
  // Infinity would retry forever while the caller waits; a bounded limit and relay() do that job.
  if (!Number.isInteger(limit) || limit < 0 || limit > 1000) throw new TypeError(`retry.limit must be a whole number from 0 to 1000, got ${limit}.`);
  for (const [name, value] of Object.entries({ backoffLimit, maxRetryAfter })) {
    if (typeof value !== 'number' || !(value >= 0) || value > 2_147_483_647) {
      throw new TypeError(`retry.${name} must be a number of milliseconds from 0 to 2147483647, got ${value}.`);
    }
  }
  if (options.delay !== undefined && typeof options.delay !== 'function') throw new TypeError('retry.delay must be a function.');
  // Full jitter: spreads the retries of many clients hit by one outage instead of syncing them.
  const delay = options.delay ?? ((attempt: number) => Math.random() * Math.min(backoffLimit, 300 * 2 ** (attempt - 1)));
  return { limit, delay, backoffLimit: options.delay ? Infinity : backoffLimit, maxRetryAfter };
}

/**
 * An answer that may change if asked again (5xx, 429, a key in flight elsewhere): thrown inside
 * the attempt loop so the loop retries it, and turned into the call's error once retries run out.
 */
export class RetryableAnswer extends Error {
  constructor(
    readonly answer: Answer,
    readonly verdict: Verdict,
  ) {
    super(String(answer.status));
  }
}

/**
 * The longest wait a server's `Retry-After` can impose, ms: a week. A longer one (a year, 1e13
 * seconds, an HTTP date in 9999) is read as a week — in-process when `maxRetryAfter` allows that
 * much, else as the parking of the intent — so a broken or hostile header cannot hide an intent
 * from recovery for decades. Real services ask for seconds to hours.
 */
export const MAX_RETRY_AFTER_MS = 7 * 24 * 60 * 60 * 1000;

/** Delta-seconds as servers write them: digits, maybe a fraction or an exponent. No sign, no `Infinity`. */
const DELTA_SECONDS = /^\d+(?:\.\d*)?(?:[eE][+-]?\d+)?$/;
/** Every HTTP-date form (IMF-fixdate, RFC 850, asctime) opens with a day's name; Date.parse alone reads "-5" as a year. */
const HTTP_DATE = /^[A-Za-z]{3,9},? /;

/**
 * A `Retry-After` value as the wait it asks for: whole ms (a fraction rounded up), from 0 to
 * `MAX_RETRY_AFTER_MS` — a longer wait, however long (1e308 seconds included), is that ceiling.
 * Delta-seconds or an HTTP date (one in the past: 0). Undefined when absent or unreadable — a
 * negative number, `NaN`, `Infinity`, text that is neither — and the call then paces its retries
 * as if the server had said nothing: the backoff.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  const text = value?.trim() ?? '';
  if (text === '') return undefined;
  let ms: number;
  if (DELTA_SECONDS.test(text)) ms = Number(text) * 1000;
  else {
    const date = HTTP_DATE.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  // Digits too many for a double read as Infinity: still a (very) long wait, so the ceiling.
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.ceil(ms)));
}

export interface RetryEvent {
  /** The retry about to happen, 1-based. */
  attempt: number;
  delay: number;
  reason: string;
  error: unknown;
}

/**
 * Runs `attempt` until it returns, retrying network errors, per-attempt timeouts and
 * `RetryableAnswer`s with the same inputs. p-retry counts and stops; the wait is ours, because
 * a server's Retry-After must win over backoff and p-retry's own delay cannot see it.
 */
export function withRetries<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  onRetry?: (event: RetryEvent) => void,
  /** Asked before each retry the policy allows: false stops the loop (a spent retry budget). */
  mayRetry: (error: unknown) => boolean = () => true,
): Promise<T> {
  return pRetry(attempt, {
    retries: policy.limit,
    minTimeout: 0,
    maxTimeout: 0,
    signal,
    async shouldRetry({ error, retriesConsumed }) {
      if (signal?.aborted) return false;
      const wait = retryDelay(error, retriesConsumed + 1, policy);
      if (wait === undefined || !mayRetry(error)) return false;
      onRetry?.({ attempt: retriesConsumed + 1, delay: wait, reason: retryReason(error), error });
      await sleep(wait, signal);
      return true;
    },
  });
}

function retryDelay(error: unknown, retry: number, policy: RetryPolicy): number | undefined {
  if (error instanceof RetryableAnswer) {
    const asked = parseRetryAfter(error.answer.headers.get('retry-after'));
    if (asked !== undefined) return asked <= policy.maxRetryAfter ? asked : undefined;
    return policy.delay(retry);
  }
  if (isUnanswered(error)) return reportsOffline() ? undefined : policy.delay(retry);
  return undefined;
}

/** ky 2 names a request that got no answer NetworkError; TimeoutError is one attempt's time limit. */
function isUnanswered(error: unknown): boolean {
  return error instanceof NetworkError || error instanceof TimeoutError;
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

export function retryReason(error: unknown): string {
  if (error instanceof RetryableAnswer) return `${error.answer.status}${error.verdict.kind === 'conflict' ? ' in flight' : ''}`;
  return error instanceof TimeoutError ? 'timeout' : 'network error';
}
