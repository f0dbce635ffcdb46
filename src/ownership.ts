/**
 * An owner's hold on one pending intent. Every write is a compare-and-set on the version this
 * owner last wrote, so the moment someone else claims the intent (after the lease ran out: this
 * owner died, or paused past it), every further write of this owner fails and it stops.
 *
 * Residual window: an owner that pauses longer than `leaseMs` between its last check and the
 * moment its request leaves (a stopped VM, a debugger, a laptop lid) may send once more while the
 * new owner sends too. The key makes that harmless on a server that deduplicates.
 */
import type { IntentChange, IntentStore } from './stores/store.js';

export class Lease {
  readonly #store: IntentStore;
  readonly #scope: string;
  readonly #id: string;
  readonly #leaseMs: number;
  #version: number;
  #leaseUntil: number;
  #lost = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Writes go one at a time: each one's expected version is the one before it wrote. */
  #writes: Promise<unknown> = Promise.resolve();

  constructor(store: IntentStore, scope: string, id: string, version: number, leaseUntil: number, leaseMs: number) {
    this.#store = store;
    this.#scope = scope;
    this.#id = id;
    this.#version = version;
    this.#leaseUntil = leaseUntil;
    this.#leaseMs = leaseMs;
    this.#timer = setInterval(() => void this.#renew().catch(() => {}), Math.max(1, Math.floor(leaseMs / 3)));
    // Renewal alone must never keep a process alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Before an attempt: true while this owner still holds the intent. Renews when half the lease is gone. */
  async check(): Promise<boolean> {
    if (this.#lost) return false;
    if (this.#leaseUntil - Date.now() < this.#leaseMs / 2) await this.#renew().catch(() => {});
    return !this.#lost && Date.now() < this.#leaseUntil;
  }

  /**
   * The last write: the outcome, or the release of an intent left pending. Resolves false when
   * another owner holds the intent now (nothing written). Renewal stops either way.
   */
  async finish(change: IntentChange): Promise<boolean> {
    this.#stop();
    return this.#write(change);
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #renew(): Promise<void> {
    const leaseUntil = Date.now() + this.#leaseMs;
    if (await this.#write({ leaseUntil })) this.#leaseUntil = leaseUntil;
  }

  #write(change: IntentChange): Promise<boolean> {
    const write = this.#writes.then(async () => {
      if (this.#lost) return false;
      const version = await this.#store.update(this.#scope, this.#id, this.#version, change);
      if (version === undefined) {
        this.#lost = true;
        this.#stop();
        return false;
      }
      this.#version = version;
      return true;
    });
    this.#writes = write.catch(() => {});
    return write;
  }
}
