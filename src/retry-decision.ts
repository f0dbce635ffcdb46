/**
 * The one retry decision: given the failure an attempt ended with, the retry it would be, the
 * policy, what the retry budget can afford and the clock, whether to retry and after how long — or
 * why not. Pure: it reads, it spends nothing and waits for nothing; the attempt loop (retry.ts,
 * p-retry's) acts on it. p-retry counts the retries and stops at the limit.
 */
import { HTTPError, NetworkError, TimeoutError } from 'ky';
import type { RetryPolicy } from './retry-policy.js';
import { RetryableAnswer } from './retryable-answer.js';

export type RetryDecision =
  | {
      retry: true;
      /** Milliseconds to wait first: the server's Retry-After where it gave one, else the policy's backoff. */
      delayMs: number;
      /** What is being retried: `503`, `429`, `409 in flight`, `network error`, `timeout`. */
      reason: string;
      /** Tokens the retry takes from the budget (0: waiting out a key in flight is free). */
      cost: number;
    }
  | {
      retry: false;
      reason: string;
      /**
       * `final`: the failure is no reason to retry (another error); `retry-after`: the server asked
       * for a wait longer than `maxRetryAfter` (the intent is parked for it); `offline`: the browser
       * says it is offline; `budget`: the budget cannot afford the retry.
       */
      because: 'final' | 'retry-after' | 'offline' | 'budget';
    };

/** What the budget says, as the decision asks it: what a retry after this failure costs, and whether that much is there. */
export interface RetryAffordance {
  cost(failure: unknown): number;
  affords(cost: number): boolean;
}

export interface RetryFacts {
  /** The failure the last attempt ended with: a `RetryableAnswer` (5xx, 429, a key in flight), or an error. */
  failure: unknown;
  /** The retry this would be, 1-based. */
  retry: number;
  policy: RetryPolicy;
  /** Undefined: no budget. */
  budget: RetryAffordance | undefined;
  /** Epoch ms now, for a Retry-After given as an HTTP date. */
  now: number;
  /** `navigator.onLine === false`: every attempt would fail at once. */
  offline: boolean;
}

export function decideRetry({ failure, retry, policy, budget, now, offline }: RetryFacts): RetryDecision {
  const reason = retryReason(failure);
  let delayMs: number;
  if (failure instanceof RetryableAnswer) {
    const asked = parseRetryAfter(failure.answer.headers.get('retry-after'), now);
    if (asked !== undefined && asked > policy.maxRetryAfter) return { retry: false, reason, because: 'retry-after' };
    delayMs = asked ?? policy.delay(retry);
  } else if (isUnanswered(failure)) {
    if (offline) return { retry: false, reason, because: 'offline' };
    delayMs = policy.delay(retry);
  } else {
    return { retry: false, reason, because: 'final' };
  }
  const cost = budget?.cost(failure) ?? 0;
  if (budget !== undefined && cost > 0 && !budget.affords(cost)) return { retry: false, reason, because: 'budget' };
  return { retry: true, delayMs, reason, cost };
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

/** ky 2 names a request that got no answer NetworkError; TimeoutError is one attempt's time limit. */
export function isUnanswered(failure: unknown): boolean {
  return failure instanceof NetworkError || failure instanceof TimeoutError;
}

/** What a failure is called in events and errors: `503`, `409 in flight`, `timeout`, `network error`, or another error's name. */
export function retryReason(failure: unknown): string {
  if (failure instanceof RetryableAnswer) return `${failure.answer.status}${failure.verdict.kind === 'conflict' ? ' in flight' : ''}`;
  if (failure instanceof TimeoutError) return 'timeout';
  if (failure instanceof NetworkError) return 'network error';
  if (failure instanceof HTTPError) return String(failure.response.status);
  return failure instanceof Error ? failure.name : 'error';
}
