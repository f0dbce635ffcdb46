/**
 * Timers that end with their work: a time limit, and a wait.
 *
 * A time limit is a child signal that aborts when its parent does or when `ms` have passed, released the moment
 * its work ends. AbortSignal.timeout and AbortSignal.any would do the same, but each keeps its
 * signal (and a timer) alive long after a short request is over — thousands of them at a few
 * thousand calls a second — so the limit is a plain timer and one listener, both removed by `end`.
 */
export interface TimeLimit {
  signal: AbortSignal;
  /** True when the limit, not the parent, aborted the signal. */
  readonly expired: boolean;
  /** Clears the timer and unhooks the parent. */
  end(): void;
}

export function timeLimit(parent: AbortSignal, ms: number | false): TimeLimit {
  // No limit: the parent's signal is the whole story, and nothing needs ending.
  if (ms === false) return { signal: parent, expired: false, end: () => {} };
  const controller = new AbortController();
  let expired = false;
  const follow = () => controller.abort(parent.reason);
  if (parent.aborted) follow();
  else parent.addEventListener('abort', follow, { once: true });
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException('The time limit ran out', 'TimeoutError'));
  }, ms);
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    end() {
      clearTimeout(timer);
      parent.removeEventListener('abort', follow);
    },
  };
}

/** Resolves once `signal` aborts — at once if it already has, which an `abort` listener alone would never hear. */
export function whenAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts; leaves nothing behind either way. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
