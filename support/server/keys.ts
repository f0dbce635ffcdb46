/**
 * The server's memory of idempotency keys: which request each key was first used with, and the
 * answer stored for it once there is one.
 */
import type { Answer } from './answer.js';

export interface KeyRecord {
  readonly fingerprint: string;
  /** Undefined while the first request is still being processed. */
  answer: Answer | undefined;
  storedAt: number | undefined;
  /** Resolves with the answer once stored: what seed 002's concurrent twins wait for. */
  readonly stored: Promise<Answer>;
  store(answer: Answer): void;
}

export class KeyStore {
  readonly #records = new Map<string, KeyRecord>();

  constructor(
    private readonly now: () => number,
    private readonly ttlMs: () => number,
  ) {}

  /** A pending record never expires: the request it belongs to has not finished. */
  get(id: string): KeyRecord | undefined {
    const record = this.#records.get(id);
    if (record?.storedAt !== undefined && this.now() - record.storedAt >= this.ttlMs()) {
      this.#records.delete(id);
      return undefined;
    }
    return record;
  }

  begin(id: string, fingerprint: string): KeyRecord {
    let resolve!: (answer: Answer) => void;
    const stored = new Promise<Answer>((r) => (resolve = r));
    const now = this.now;
    const record: KeyRecord = {
      fingerprint,
      answer: undefined,
      storedAt: undefined,
      stored,
      store(answer) {
        if (record.answer) return;
        record.answer = answer;
        record.storedAt = now();
        resolve(answer);
      },
    };
    this.#records.set(id, record);
    return record;
  }

  /**
   * Records of requests still in progress are dropped from the map too, but they keep their own
   * promise, so a twin already waiting on one still gets its answer.
   */
  clear(): void {
    this.#records.clear();
  }
}
