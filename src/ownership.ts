/**
 * An owner's hold on one pending intent. Every write is a compare-and-set on the version this
 * owner last wrote, so the moment someone else claims the intent (its lease ran out, or the store
 * saw this owner die), every further write of this owner fails and it stops.
 *
 * The owner judges its own lease by a monotonic clock of its own, from the moment it *asked* for
 * the lease (a create, a claim or a renewal) rather than when the store answered: the store's
 * lease can only have started later, so the owner never believes in a lease the store has already
 * ended. No wall clock takes part: a step of it neither ends a lease early nor stretches one.
 *
 * The lease is renewed before it is half gone, checked before every attempt (the first included),
 * and kept alive until the last write has committed: an outcome whose write fails is written
 * again until it lands or someone else holds the intent (`settle`); a release is tried once
 * (`finish`), since a lease that is not released simply runs out.
 *
 * Residual window: an owner that pauses longer than its lease between its last check and the
 * moment its request leaves (a stopped VM, a debugger, a laptop lid) may send once more while the
 * new owner sends too. The key makes that harmless on a server that deduplicates.
 */
import { sleep } from './time-limit.js';
import { type Intent, type IntentChange, type IntentStore, PayloadTooLargeError } from './stores/store.js';

/** Milliseconds on this process's monotonic clock. */
export const monotonicNow = (): number => performance.now();

/** Waits between attempts at writing an outcome that did not land: short first, then once a second. */
const OUTCOME_RETRY_MS = [50, 100, 250, 500, 1000];

/** What `check` found before an attempt. */
export type LeaseCheck = 'held' | 'lost' | 'unconfirmed';

export class Lease {
  readonly #store: IntentStore;
  readonly #scope: string;
  readonly #id: string;
  readonly #owner: string;
  readonly #leaseMs: number;
  #version: number;
  /** Monotonic ms until which the lease is surely held (counted from when it was asked for). */
  #heldUntil: number;
  #lost = false;
  /** The last write has landed: nothing more is written, renewals included. */
  #done = false;
  /**
   * A write failed without an answer (a connection lost mid-commit): it may have landed. The next
   * compare-and-set that fails looks whether it did before concluding the intent is lost.
   */
  #unsure: IntentChange | undefined;
  /** The last write (`finish`'s or `settle`'s): once it has landed, seen or not, nothing more is written. */
  #final: IntentChange | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Writes go one at a time: each one's expected version is the one before it wrote. */
  #writes: Promise<unknown> = Promise.resolve();

  /** `askedAt`: `monotonicNow()` when the create or claim that gave `owner` this lease was sent. */
  constructor(store: IntentStore, intent: Pick<Intent, 'scope' | 'id' | 'version' | 'owner'>, leaseMs: number, askedAt: number) {
    this.#store = store;
    this.#scope = intent.scope;
    this.#id = intent.id;
    this.#owner = intent.owner ?? '';
    this.#version = intent.version;
    this.#leaseMs = leaseMs;
    this.#heldUntil = askedAt + leaseMs;
    this.#timer = setInterval(() => void this.#renew().catch(() => {}), Math.max(1, Math.floor(leaseMs / 3)));
    // Renewal alone must never keep a process alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /**
   * Before an attempt: `held` while this owner surely holds the intent (renewing it first when half
   * the lease is gone), `lost` once someone else does, `unconfirmed` when the lease has run out and
   * the store cannot be reached to renew it — nothing may be sent then either.
   */
  async check(): Promise<LeaseCheck> {
    if (!this.#lost && this.#heldUntil - monotonicNow() < this.#leaseMs / 2) await this.#renew().catch(() => {});
    if (this.#lost) return 'lost';
    return monotonicNow() < this.#heldUntil ? 'held' : 'unconfirmed';
  }

  /**
   * The last write: a release, tried once. Resolves false when it did not land (another owner holds
   * the intent now, or the store failed: then the lease runs out by itself). Renewal stops either way.
   */
  async finish(change: IntentChange): Promise<boolean> {
    this.#final = change;
    try {
      return await this.#last(change);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) throw error;
      return false;
    } finally {
      this.#stop();
    }
  }

  /**
   * The last write of an outcome: written again until it commits, the lease renewed meanwhile, so
   * nobody resends what has been answered. Resolves false when another owner holds the intent now
   * (nothing written). Rejects only with `PayloadTooLargeError`: a write that can never land.
   */
  async settle(change: IntentChange): Promise<boolean> {
    this.#final = change;
    try {
      for (let failures = 0; ; failures++) {
        try {
          return await this.#last(change);
        } catch (error) {
          if (error instanceof PayloadTooLargeError) throw error;
          await sleep(OUTCOME_RETRY_MS[Math.min(failures, OUTCOME_RETRY_MS.length - 1)]!, undefined);
        }
      }
    } finally {
      this.#stop();
    }
  }

  async #last(change: IntentChange): Promise<boolean> {
    const written = await this.#write(change);
    this.#done = true;
    return written;
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #renew(): Promise<void> {
    const askedAt = monotonicNow();
    if (await this.#write({ leaseMs: this.#leaseMs })) this.#heldUntil = askedAt + this.#leaseMs;
  }

  /**
   * Writes `change` on the version this owner last wrote. When that compare-and-set fails, an
   * earlier write that failed unanswered may have landed: then the version moved on by this
   * owner's own hand. If that write was this one, it is done; if it was the final one, nothing is
   * written after it; otherwise (a renewal landed unseen before an outcome) this one is written
   * again on the new version — the landed renewal is not this write.
   */
  #write(change: IntentChange): Promise<boolean> {
    const write = this.#writes.then(async () => {
      if (this.#lost) return false;
      if (this.#done) return change === this.#final;
      for (;;) {
        let version: number | undefined;
        try {
          version = await this.#store.update(this.#scope, this.#id, this.#version, change);
        } catch (error) {
          if (!(error instanceof PayloadTooLargeError)) this.#unsure = change;
          throw error;
        }
        if (version !== undefined) {
          this.#unsure = undefined;
          this.#version = version;
          return true;
        }
        const unsure = this.#unsure;
        const landed = await this.#landedUnseen();
        this.#unsure = undefined;
        if (landed === undefined) {
          this.#lost = true;
          this.#stop();
          return false;
        }
        this.#version = landed;
        if (unsure === change) return true;
        if (unsure === this.#final) {
          this.#done = true;
          this.#stop();
          return false;
        }
      }
    });
    this.#writes = write.catch(() => {});
    return write;
  }

  /**
   * After a write that failed without an answer, a compare-and-set on the old version fails. If
   * that unanswered write did land, the stored intent is one version on and shows what it wrote —
   * a claim by anyone else would show that claimant as owner instead.
   */
  async #landedUnseen(): Promise<number | undefined> {
    const unsure = this.#unsure;
    if (unsure === undefined) return undefined;
    const stored = await this.#store.get(this.#scope, this.#id);
    if (stored?.version !== this.#version + 1) return undefined;
    const matches =
      (unsure.state === undefined || stored.state === unsure.state) &&
      stored.owner === (unsure.owner === undefined ? this.#owner : unsure.owner) &&
      (unsure.attempts === undefined || stored.attempts === unsure.attempts);
    return matches ? stored.version : undefined;
  }
}
