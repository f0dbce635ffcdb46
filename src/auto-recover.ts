/**
 * A client's recovery passes, one at a time, and with `autoRecover` the moments a page or worker
 * is likely to find something to finish: its start, the network coming back (`online`), and the
 * page shown again (`visibilitychange` to visible: a tab back from the background, a phone
 * unlocked, where timers and requests may have been frozen).
 *
 * One at a time because two passes of one client would claim for the same owner: the second
 * finds nothing, or takes over what the first has just given up on, within one moment.
 */
import type { RecoverOptions, RecoveryOutcome } from './recover.js';

type Pass = (options?: RecoverOptions) => Promise<RecoveryOutcome[]>;

export class RecoveryPasses {
  readonly #pass: Pass;
  /** Settles when the last pass queued has ended. */
  #tail: Promise<unknown> = Promise.resolve();
  /** An automatic pass is waiting for its turn: another trigger meanwhile would find the same work. */
  #autoQueued = false;
  #unwatch: (() => void) | undefined;

  constructor(pass: Pass) {
    this.#pass = pass;
  }

  /** Runs a pass once those before it have ended. */
  run(options?: RecoverOptions): Promise<RecoveryOutcome[]> {
    return this.#queue(() => this.#pass(options));
  }

  /** Runs a pass now, and again on `online` and on the page becoming visible, until `stop()`. */
  watch(): void {
    const trigger = () => {
      if (this.#autoQueued) return;
      this.#autoQueued = true;
      // Nobody awaits an automatic pass: what it could not finish stays pending for the next
      // trigger, and each intent it handled was reported through `on.recovery`.
      this.#queue(() => {
        this.#autoQueued = false;
        return this.#pass();
      }).catch(() => {});
    };
    const onVisible = () => globalThis.document?.visibilityState === 'visible' && trigger();
    // Window and WorkerGlobalScope fire `online`; only a window has a document. Elsewhere (Node)
    // neither exists, and the pass at start is all there is.
    globalThis.addEventListener?.('online', trigger);
    globalThis.document?.addEventListener('visibilitychange', onVisible);
    this.#unwatch = () => {
      globalThis.removeEventListener?.('online', trigger);
      globalThis.document?.removeEventListener('visibilitychange', onVisible);
    };
    trigger();
  }

  /** Stops watching, and resolves once the pass under way (if any) has ended. */
  async stop(): Promise<void> {
    this.#unwatch?.();
    this.#unwatch = undefined;
    await this.#tail;
  }

  #queue<T>(start: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(start);
    this.#tail = next.catch(() => {});
    return next;
  }
}
