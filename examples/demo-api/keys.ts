/**
 * What the demo API remembers of each Idempotency-Key, scoped per API key (the Authorization
 * header) as seed 004 scopes them, for as long as the process lives.
 */
import { createHash } from 'node:crypto';

export interface Answer {
  status: number;
  headers: Record<string, string>;
  /** Kept serialised, so a replay is the original answer byte for byte. */
  body: string;
}

export function jsonAnswer(status: number, value: unknown, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

export function errorAnswer(status: number, code: string, message: string, headers: Record<string, string> = {}): Answer {
  return jsonAnswer(status, { code, message }, headers);
}

/** Seed 004: 1 to 255 ASCII characters; control characters could not travel in a header anyway. */
const VALID_KEY = /^[\x20-\x7e]{1,255}$/;

export function isValidKey(key: string): boolean {
  return VALID_KEY.test(key);
}

/** A key reused for another method, path or body is a mismatch, not a replay. */
export function fingerprint(method: string, path: string, body: string): string {
  return createHash('sha256').update(`${method}\0${path}\0${body}`).digest('hex');
}

export interface KeyRecord {
  readonly fingerprint: string;
  /** Undefined while the first request is still being processed (or its slow answer is held). */
  answer: Answer | undefined;
}

export class KeyMemory {
  readonly #records = new Map<string, KeyRecord>();
  readonly #attempts = new Map<string, number>();

  /** Counts every request with this key, including the 5xx and 429 ones that leave no record. */
  countAttempt(tenant: string, key: string): number {
    const id = `${tenant}\0${key}`;
    const attempt = (this.#attempts.get(id) ?? 0) + 1;
    this.#attempts.set(id, attempt);
    return attempt;
  }

  get(tenant: string, key: string): KeyRecord | undefined {
    return this.#records.get(`${tenant}\0${key}`);
  }

  begin(tenant: string, key: string, fingerprint: string): KeyRecord {
    const record: KeyRecord = { fingerprint, answer: undefined };
    this.#records.set(`${tenant}\0${key}`, record);
    return record;
  }
}
