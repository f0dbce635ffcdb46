import { NetworkError, TimeoutError } from 'ky';
import { describe, expect, it } from 'vitest';
import { createClient, memoryStore, type RetryBudgetOptions } from '../src/index.js';
import { normalizeRetry, RetryableAnswer } from '../src/retry.js';
import { decideRetry } from '../src/retry-decision.js';
import { type RetryAccount, RetryBudget, retryQuota } from '../src/retry-budget.js';

const A = 'https://a.example';
const B = 'https://b.example';

const answer = (status: number) => ({ status, statusText: '', headers: new Headers(), bytes: new Uint8Array(), url: `${A}/v1/payouts` });
const failures = {
  503: new RetryableAnswer(answer(503), { kind: 'transient', code: undefined }),
  'network error': new NetworkError(new Request(`${A}/v1/payouts`)),
  timeout: new TimeoutError(new Request(`${A}/v1/payouts`)),
  '409 in flight': new RetryableAnswer(answer(409), { kind: 'conflict', code: 'idempotency_key_in_use', signal: true }),
};
type Failure = keyof typeof failures;

/**
 * One operation's steps: `open` an account (live or recovery), try retries after failures
 * (recording whether each was allowed), end with `succeeded`. What is measured: the answers and
 * the tokens left on each origin afterwards.
 */
interface Row {
  what: string;
  options?: RetryBudgetOptions;
  run: (budget: RetryBudget, retries: (origin: string, failure: Failure, times: number, recovery?: boolean) => { allowed: boolean[]; succeed: () => void }) => unknown;
  /** What `run` returned: the retries' answers, or counts of them. */
  allowed?: unknown;
  left: Record<string, number>;
}

const rows: Row[] = [
  { what: 'a retry costs retryCost (5)', run: (_, retries) => retries(A, 503, 1).allowed, allowed: [true], left: { [A]: 495 } },
  { what: 'a retry after a network error costs the same', run: (_, retries) => retries(A, 'network error', 2).allowed, allowed: [true, true], left: { [A]: 490 } },
  { what: 'a retry after a per-attempt timeout costs timeoutCost (10)', run: (_, retries) => retries(A, 'timeout', 1).allowed, allowed: [true], left: { [A]: 490 } },
  { what: 'waiting out a key in flight (409) is free', run: (_, retries) => retries(A, '409 in flight', 20).allowed, allowed: Array(20).fill(true), left: { [A]: 500 } },
  {
    what: 'a success after retries gives back everything it spent',
    run(_, retries) {
      const first = retries(A, 503, 2);
      retries(A, 'timeout', 1).succeed();
      retries(A, 503, 3);
      first.succeed();
    },
    // 500 − 10 − 10 − 15 = 465; the timeout's 10 and the first's 10 come back.
    left: { [A]: 485 },
  },
  {
    what: 'a first-try success earns successReward (1)',
    run(_, retries) {
      retries(A, 503, 4);
      retries(A, 503, 0).succeed();
      retries(A, 503, 0).succeed();
    },
    left: { [A]: 482 },
  },
  {
    what: 'nothing grows past the capacity: neither rewards nor refunds',
    run(_, retries) {
      const spender = retries(A, 503, 1);
      for (let i = 0; i < 10; i++) retries(A, 503, 0).succeed();
      spender.succeed();
    },
    left: { [A]: 500 },
  },
  {
    what: 'a live call spends down to zero and no further; a refusal takes nothing',
    options: { capacity: 20 },
    run: (_, retries) => retries(A, 503, 5).allowed,
    allowed: [true, true, true, true, false],
    left: { [A]: 0 },
  },
  {
    what: 'a timeout retry needs timeoutCost left; a plain retry then still fits',
    options: { capacity: 20 },
    run: (_, retries) => [...retries(A, 503, 3).allowed, ...retries(A, 'timeout', 1).allowed, ...retries(A, 503, 1).allowed],
    allowed: [true, true, true, false, true],
    left: { [A]: 0 },
  },
  {
    what: 'recovery spends only while half the capacity stays left; live calls then have that half',
    run(_, retries) {
      const recovery = retries(A, 503, 60, true).allowed;
      const live = retries(A, 503, 60).allowed;
      return [recovery.filter(Boolean).length, live.filter(Boolean).length];
    },
    allowed: [50, 50],
    left: { [A]: 0 },
  },
  {
    what: 'recovery does not start below the reserve: after live calls spent it, recovery makes no retry',
    run(_, retries) {
      retries(A, 503, 51);
      return retries(A, 503, 1, true).allowed;
    },
    allowed: [false],
    left: { [A]: 245 },
  },
  {
    what: 'a recovery that succeeds after retries refunds like a call',
    run: (_, retries) => retries(A, 'timeout', 3, true).succeed(),
    left: { [A]: 500 },
  },
  {
    what: 'each origin has its own tokens',
    options: { capacity: 10 },
    run: (_, retries) => [...retries(A, 503, 3).allowed, ...retries(B, 503, 1).allowed],
    allowed: [true, true, false, true],
    left: { [A]: 0, [B]: 5 },
  },
  {
    what: 'a cost above the capacity: that kind of retry is never made',
    options: { capacity: 5 },
    run: (_, retries) => [...retries(A, 'timeout', 1).allowed, ...retries(A, 503, 1).allowed],
    allowed: [false, true],
    left: { [A]: 0 },
  },
  {
    what: 'the costs and the reward are options',
    options: { capacity: 100, retryCost: 2, timeoutCost: 7, successReward: 0.5 },
    run(_, retries) {
      retries(A, 503, 1);
      retries(A, 'timeout', 1);
      retries(A, 503, 0).succeed();
    },
    left: { [A]: 91.5 },
  },
];

/** A retry as the attempt loop pays for one: asked, then charged; refused, the account remembers why. */
function trySpend(account: RetryAccount, failure: unknown): boolean {
  const decision = decideRetry({ failure, retry: 1, policy: normalizeRetry({}), budget: account, now: 0, offline: false });
  if (!decision.retry) {
    account.stop(decision.reason);
    return false;
  }
  account.spend(decision.cost);
  return true;
}

describe('the retry quota, per origin', () => {
  it.each(rows)('$what', ({ options, run, allowed, left }) => {
    const budget = new RetryBudget(retryQuota(options ?? {}));
    const retries = (origin: string, failure: Failure, times: number, recovery = false) => {
      const account = budget.open(origin, recovery);
      const answers = Array.from({ length: times }, () => trySpend(account, failures[failure]));
      return { allowed: answers, succeed: () => account.succeeded() };
    };
    const result = run(budget, retries);
    if (allowed !== undefined) expect(result).toEqual(allowed);
    for (const [origin, tokens] of Object.entries(left)) expect(budget.tokens(origin)).toBe(tokens);
  });

  it('an account says why it was stopped, and what the origin has left', () => {
    const budget = new RetryBudget(retryQuota({ capacity: 12 }));
    const account = budget.open(A, false);
    expect([trySpend(account, failures[503]), trySpend(account, failures.timeout)]).toEqual([true, false]);
    expect([account.stoppedAfter, account.tokens, account.spent]).toEqual(['timeout', 7, 5]);
  });

  it.each([
    [{ capacity: 0 }, /retryBudget.capacity must be a number of tokens from 1/],
    [{ capacity: Number.NaN }, /retryBudget.capacity/],
    [{ capacity: '500' as never }, /retryBudget.capacity/],
    [{ capacity: Infinity }, /retryBudget.capacity/],
    [{ retryCost: 0 }, /retryBudget.retryCost/],
    [{ retryCost: 2e9 }, /retryBudget.retryCost must be a number of tokens from 1 to 1e9, got 2000000000/],
    [{ timeoutCost: -1 }, /retryBudget.timeoutCost/],
    [{ successReward: -1 }, /retryBudget.successReward/],
    [{ successReward: Number.NaN }, /retryBudget.successReward/],
  ] as Array<[RetryBudgetOptions, RegExp]>)('createClient refuses retryBudget %o with a TypeError naming the option', (retryBudget, message) => {
    expect(() => createClient({ store: memoryStore(), retryBudget })).toThrow(TypeError);
    expect(() => createClient({ store: memoryStore(), retryBudget })).toThrow(message);
  });

  it('createClient refuses a retryBudget that is not an object or false', () => {
    expect(() => createClient({ store: memoryStore(), retryBudget: 500 as never })).toThrow(/retryBudget must be an object or false/);
    expect(() => createClient({ store: memoryStore(), retryBudget: false })).not.toThrow();
    expect(() => createClient({ store: memoryStore(), retryBudget: { capacity: undefined } })).not.toThrow();
  });
});
