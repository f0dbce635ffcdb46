import { HTTPError, NetworkError, type NormalizedOptions, TimeoutError } from 'ky';
import { describe, expect, it } from 'vitest';
import { normalizeRetry, RetryableAnswer } from '../src/retry.js';
import { decideRetry, type RetryAffordance, type RetryDecision } from '../src/retry-decision.js';

const URL_ = 'https://api.test/v1/payouts';
const NOW = Date.parse('2026-12-04T12:00:00Z');
const answer = (status: number, retryAfter?: string) => ({
  status,
  statusText: '',
  headers: new Headers(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
  bytes: new Uint8Array(),
  url: URL_,
});
const transient = (status: number, retryAfter?: string) => new RetryableAnswer(answer(status, retryAfter), { kind: 'transient', code: undefined });
const inFlight = new RetryableAnswer(answer(409), { kind: 'conflict', code: 'idempotency_key_in_use', signal: true });

/** A budget that charges 5 a retry (10 after a timeout, nothing to wait out a key in flight) and has `left` tokens. */
const budget = (left: number): RetryAffordance => ({
  cost: (failure) => (failure === inFlight ? 0 : failure instanceof TimeoutError ? 10 : 5),
  affords: (cost) => left >= cost,
});

// A policy whose backoff is 100 ms × the retry's number, so a row can say which wait it expects.
const policy = normalizeRetry({ limit: 5, delay: (retry) => 100 * retry, maxRetryAfter: 60_000 });

const rows: Array<{ what: string; failure: unknown; retry?: number; left?: number; offline?: boolean; decision: RetryDecision }> = [
  { what: 'a 503 is retried after the backoff, at the cost of a retry', failure: transient(503), retry: 2, left: 500, decision: { retry: true, delayMs: 200, reason: '503', cost: 5 } },
  { what: 'a 503 with Retry-After: 2 waits the 2 s asked for', failure: transient(503, '2'), left: 500, decision: { retry: true, delayMs: 2_000, reason: '503', cost: 5 } },
  {
    what: 'a 429 with Retry-After as an HTTP date waits until then',
    failure: transient(429, new Date(NOW + 30_000).toUTCString()),
    left: 500,
    decision: { retry: true, delayMs: 30_000, reason: '429', cost: 5 },
  },
  { what: 'a Retry-After beyond maxRetryAfter is not waited for', failure: transient(503, '3600'), left: 500, decision: { retry: false, reason: '503', because: 'retry-after' } },
  { what: 'an unreadable Retry-After falls back to the backoff', failure: transient(503, 'soon'), left: 500, decision: { retry: true, delayMs: 100, reason: '503', cost: 5 } },
  { what: 'a key in flight is waited out for free, even with nothing left', failure: inFlight, left: 0, decision: { retry: true, delayMs: 100, reason: '409 in flight', cost: 0 } },
  { what: 'a network error is retried', failure: new NetworkError(new Request(URL_)), left: 500, decision: { retry: true, delayMs: 100, reason: 'network error', cost: 5 } },
  { what: 'a timeout is retried, at a timeout’s cost', failure: new TimeoutError(new Request(URL_)), left: 500, decision: { retry: true, delayMs: 100, reason: 'timeout', cost: 10 } },
  {
    what: 'nothing unanswered is retried while the browser says it is offline',
    failure: new NetworkError(new Request(URL_)),
    left: 500,
    offline: true,
    decision: { retry: false, reason: 'network error', because: 'offline' },
  },
  { what: 'a retry the budget cannot afford is not made', failure: transient(503), left: 4, decision: { retry: false, reason: '503', because: 'budget' } },
  { what: 'without a budget, a retry costs nothing', failure: transient(500), decision: { retry: true, delayMs: 100, reason: '500', cost: 0 } },
  {
    what: 'a final answer is no reason to retry',
    failure: new HTTPError(new Response(null, { status: 422 }), new Request(URL_), {} as NormalizedOptions),
    left: 500,
    decision: { retry: false, reason: '422', because: 'final' },
  },
  { what: 'nor is an error of another kind', failure: new TypeError('bug'), left: 500, decision: { retry: false, reason: 'TypeError', because: 'final' } },
];

describe('the retry decision', () => {
  it.each(rows)('$what', ({ failure, retry = 1, left, offline = false, decision }) => {
    expect(decideRetry({ failure, retry, policy, budget: left === undefined ? undefined : budget(left), now: NOW, offline })).toEqual(decision);
  });
});
