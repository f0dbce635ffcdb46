import type { Verdict } from './classify.js';
import type { Answer } from './response.js';

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

