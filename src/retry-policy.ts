/** A client's (or a call's) retry policy: how many retries, how they are paced, how long a wait a server may ask for. */
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

