/**
 * How many retries a client may spend on one origin, gRPC's retry throttling in small: a bucket
 * of `maxTokens`; every retry takes one, every success gives back `tokenRatio`; retries go ahead
 * only while more than half the bucket is left. In an outage the first calls spend the budget and
 * the rest make one attempt each — their intents stay pending for recovery — instead of every
 * client multiplying the load by its retry limit. Waiting out a key in flight (409) spends
 * nothing: the server asked for exactly that.
 */
export interface RetryBudgetOptions {
  /** Size of the bucket. Default 10. */
  maxTokens?: number;
  /** Tokens a success gives back. Default 0.1 (ten successes earn one retry). */
  tokenRatio?: number;
}

export class RetryBudget {
  readonly #maxTokens: number;
  readonly #tokenRatio: number;
  readonly #tokens = new Map<string, number>();

  constructor({ maxTokens = 10, tokenRatio = 0.1 }: RetryBudgetOptions = {}) {
    if (!(typeof maxTokens === 'number' && maxTokens >= 1 && maxTokens <= 1000)) throw new TypeError(`retryBudget.maxTokens must be a number from 1 to 1000, got ${String(maxTokens)}.`);
    if (!(typeof tokenRatio === 'number' && tokenRatio > 0 && tokenRatio <= maxTokens)) throw new TypeError(`retryBudget.tokenRatio must be a number above 0, got ${String(tokenRatio)}.`);
    this.#maxTokens = maxTokens;
    this.#tokenRatio = tokenRatio;
  }

  /** Takes a token for one retry to `origin`; false (nothing taken) when the budget says no. */
  trySpend(origin: string): boolean {
    const tokens = this.tokens(origin);
    if (tokens <= this.#maxTokens / 2) return false;
    this.#tokens.set(origin, tokens - 1);
    return true;
  }

  /** A success on `origin`: part of a token comes back. */
  refill(origin: string): void {
    const tokens = this.tokens(origin);
    if (tokens < this.#maxTokens) this.#tokens.set(origin, Math.min(this.#maxTokens, tokens + this.#tokenRatio));
  }

  tokens(origin: string): number {
    return this.#tokens.get(origin) ?? this.#maxTokens;
  }
}
