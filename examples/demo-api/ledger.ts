/**
 * The demo API's business: payouts and credit purchases of one demo account, and a count of how
 * often each Idempotency-Key's operation was applied, which is what "exactly once" is checked by.
 */
import { type Answer, errorAnswer, jsonAnswer } from './keys.js';

export interface Payout {
  id: string;
  object: 'payout';
  /** The caller's own id for the payout (`id` in the request body). */
  reference: string;
  recipient: string;
  /** Minor units (cents). */
  amount: number;
  status: 'paid';
  created: string;
}

export interface CreditPurchase {
  id: string;
  object: 'credit_purchase';
  credits: number;
  /** Credits purchased so far, this purchase included. */
  balance: number;
  created: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function invalid(message: string): Answer {
  return errorAnswer(422, 'validation_failed', message);
}

export class Ledger {
  readonly payouts: Payout[] = [];
  readonly purchases: CreditPurchase[] = [];
  credits = 0;
  readonly #appliedByKey = new Map<string, number>();
  #appliedTotal = 0;

  applied(key: string): number {
    return this.#appliedByKey.get(key) ?? 0;
  }

  appliedTotal(): number {
    return this.#appliedTotal;
  }

  createPayout(body: unknown, key: string | undefined): Answer {
    if (!isRecord(body)) return invalid('Send a JSON object: { "id", "recipient", "amount" }.');
    const { id, recipient, amount } = body;
    if (!((typeof id === 'string' && id !== '') || typeof id === 'number')) return invalid('id must be a non-empty string or a number.');
    if (typeof recipient !== 'string' || recipient.trim() === '') return invalid('recipient must be a non-empty string.');
    if (!isPositiveInteger(amount)) return invalid('amount must be a positive integer (cents).');
    const payout: Payout = {
      id: `po_${String(this.payouts.length + 1).padStart(4, '0')}`,
      object: 'payout',
      reference: String(id),
      recipient,
      amount,
      status: 'paid',
      created: new Date().toISOString(),
    };
    this.payouts.push(payout);
    this.#count(key);
    return jsonAnswer(201, payout);
  }

  purchaseCredits(body: unknown, key: string | undefined): Answer {
    if (!isRecord(body) || !isPositiveInteger(body.credits)) return invalid('Send { "credits": <a positive integer> }.');
    this.credits += body.credits;
    const purchase: CreditPurchase = {
      id: `cp_${String(this.purchases.length + 1).padStart(4, '0')}`,
      object: 'credit_purchase',
      credits: body.credits,
      balance: this.credits,
      created: new Date().toISOString(),
    };
    this.purchases.push(purchase);
    this.#count(key);
    return jsonAnswer(201, purchase);
  }

  #count(key: string | undefined): void {
    this.#appliedTotal++;
    if (key !== undefined) this.#appliedByKey.set(key, this.applied(key) + 1);
  }
}
