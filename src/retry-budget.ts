/**
 * How many retries a client may spend on one origin: a retry quota per origin, as the AWS SDKs'
 * "standard" retry mode keeps one. Each origin has `capacity` tokens (500). A retry takes
 * `retryCost` (5), or `timeoutCost` (10) after an attempt that timed out; an operation that
 * succeeds after retries gives back all it took, and one that succeeds without spending earns
 * `successReward` (1), up to the capacity. Waiting out a key in flight (409) is free: the server
 * asked for exactly that.
 *
 * The capacity absorbs a burst of failures — each call retrying holds a few tokens until it
 * succeeds and gives them back, so dozens at once fit — while a sustained outage spends it: 500
 * tokens are 100 retries, so however many calls fail, at most 100 retries go out beyond their
 * first attempts until successes come back. Recovery (`recover()`, `relay()`) draws on the same tokens but
 * never below half the capacity: a pass over a backlog during an outage leaves live calls the
 * other half.
 */
import { TimeoutError } from 'ky';
import { RetryBudgetError } from './errors.js';
import type { RetryCharge } from './retry.js';
import { RetryableAnswer } from './retryable-answer.js';

export interface RetryBudgetOptions {
  /** Tokens per origin, and the most it refills to. Default 500. */
  capacity?: number;
  /** Tokens a retry takes. Default 5. */
  retryCost?: number;
  /** Tokens a retry after an attempt's timeout takes. Default 10. */
  timeoutCost?: number;
  /** Tokens an operation earns by succeeding without spending any. Default 1. */
  successReward?: number;
}

/** The quota's rules, every one given: a client's configuration (its state is the budget's). */
export type RetryQuota = Readonly<Required<RetryBudgetOptions>>;

/** The `retryBudget` option, checked, its defaults filled in. */
export function retryQuota({ capacity = 500, retryCost = 5, timeoutCost = 10, successReward = 1 }: RetryBudgetOptions): RetryQuota {
  return Object.freeze({
    capacity: tokens('capacity', capacity, 1),
    // A cost above the capacity is allowed: that kind of retry is then never made.
    retryCost: tokens('retryCost', retryCost, 1),
    timeoutCost: tokens('timeoutCost', timeoutCost, 1),
    successReward: tokens('successReward', successReward, 0),
  });
}

/** A client's budget: the quota's rules, and the tokens each origin has left. */
export class RetryBudget {
  readonly capacity: number;
  readonly retryCost: number;
  readonly timeoutCost: number;
  readonly successReward: number;
  readonly #tokens = new Map<string, number>();

  constructor(quota: RetryQuota = retryQuota({})) {
    ({ capacity: this.capacity, retryCost: this.retryCost, timeoutCost: this.timeoutCost, successReward: this.successReward } = quota);
  }

  /** The quota one operation to `origin` draws on; a recovery's keeps off the reserve. */
  open(origin: string, recovery: boolean): RetryAccount {
    return new RetryAccount(this, origin, recovery);
  }

  /** Tokens left for `origin`. */
  tokens(origin: string): number {
    return this.#tokens.get(origin) ?? this.capacity;
  }

  /** Adds `amount` (negative: takes) to what `origin` has, up to the capacity. */
  add(origin: string, amount: number): void {
    this.#tokens.set(origin, Math.min(this.capacity, this.tokens(origin) + amount));
  }
}

/** What one operation spent from its origin's quota, and whether the quota stopped it. */
export class RetryAccount implements RetryCharge {
  /** Tokens this operation has taken so far. */
  spent = 0;
  /** Why the retry refused was wanted (`503`, `network error`, `timeout`…); set once the quota has stopped the operation. */
  stoppedAfter: string | undefined;

  constructor(
    readonly budget: RetryBudget,
    readonly origin: string,
    /** A recovery's retries leave half the capacity, the reserve, to live calls. */
    readonly recovery: boolean,
  ) {}

  /** What a retry after `failure` costs: a timeout's more, waiting out a key in flight nothing (the server asked for exactly that). */
  cost(failure: unknown): number {
    if (failure instanceof RetryableAnswer && failure.verdict.kind === 'conflict') return 0;
    return failure instanceof TimeoutError ? this.budget.timeoutCost : this.budget.retryCost;
  }

  /** Whether the origin has `cost` to spare: down to nothing for a live call, to half the capacity for a recovery. */
  affords(cost: number): boolean {
    return this.budget.tokens(this.origin) - cost >= (this.recovery ? this.budget.capacity / 2 : 0);
  }

  spend(cost: number): void {
    this.budget.add(this.origin, -cost);
    this.spent += cost;
  }

  /** The retry the quota refused, wanted after `reason` (`503`, `timeout`…): the operation's error will say so. */
  stop(reason: string): void {
    this.stoppedAfter = reason;
  }


  /** The operation succeeded: what it spent comes back; if it spent nothing, it earns the reward. */
  succeeded(): void {
    this.budget.add(this.origin, this.spent || this.budget.successReward);
    this.spent = 0;
  }

  /** Tokens left on the origin. */
  get tokens(): number {
    return this.budget.tokens(this.origin);
  }

  /** The error of an operation this quota stopped: `cause` is the failure that was not retried; `request` as errors may show it. */
  error(idempotencyKey: string, request: { method: string; url: string }, cause: unknown): RetryBudgetError {
    return new RetryBudgetError(
      `Retry budget for ${this.origin} is spent${this.recovery ? ' down to the half kept for live calls' : ''}: many requests to it failed at once (an outage?). ` +
        `${request.method} ${request.url} was not retried after a ${this.stoppedAfter}; key "${idempotencyKey}" is still pending for recover() or relay().`,
      { idempotencyKey, origin: this.origin, cause },
    );
  }
}

/** A count of tokens, up to 1e9: far beyond any use, and where a double still counts single tokens exactly. */
function tokens(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !(value >= min && value <= 1e9)) throw new TypeError(`retryBudget.${name} must be a number of tokens from ${min} to 1e9, got ${String(value)}.`);
  return value;
}
