import type { ReachedServer } from './reach.js';
import type { IntentState } from './stores/store.js';

/** What a call did, as it happens: for logs, counters and traces (`on` option). URLs have credential-like query values masked. */
export interface OperationEvent {
  idempotencyKey: string;
  method: string;
  url: string;
}

export interface DurableEvents {
  /** A logical operation begins: a call, or the resend of a claimed intent by `recover()`/`relay()`. */
  start?(event: OperationEvent & { recovery: boolean }): unknown;
  /**
   * It ended: its state afterwards (undefined when the journal was not touched, e.g. a mismatch),
   * whether the answer is a replay, and the attempts it made (0: the journal answered).
   */
  end?(event: OperationEvent & { state: IntentState | undefined; replayed: boolean; attempts: number; error?: unknown }): unknown;
  /** An attempt ended: with the server's status, or with the error that ended it. */
  attemptEnd?(event: OperationEvent & { attempt: number; status?: number; error?: unknown; reachedServer: ReachedServer }): unknown;
  /** An attempt is about to be sent (1-based `attempt`, counting every owner's attempts). */
  attempt?(event: OperationEvent & { attempt: number }): unknown;
  /** An attempt failed and another follows after `delay` ms; `reason` says why (`network error`, `timeout`, `503`, `429`, `409 in flight`). */
  retry?(event: OperationEvent & { attempt: number; delay: number; reason: string; error: unknown; reachedServer: ReachedServer }): unknown;
  /** A retry was not made: the client's retry budget for this origin is spent (an outage?). The intent stays pending for recovery. */
  throttle?(event: OperationEvent & { origin: string; tokens: number; reason: string; reachedServer: ReachedServer }): unknown;
  /** The server marked its answer as a replay of an earlier one. */
  replay?(event: OperationEvent & { status: number }): unknown;
  /** The journal settled the call without a request: a `succeeded` answer or a `failed` error repeated, or an `expired` intent refused. */
  journalAnswer?(event: OperationEvent & { state: 'succeeded' | 'failed' | 'expired' }): unknown;
  /** `recover()` or `relay()` finished with one intent; `skipped`: not this client's to send. */
  recovery?(event: OperationEvent & { state: 'succeeded' | 'failed' | 'expired' | 'pending' | 'skipped'; error?: unknown }): unknown;
  /** A listener threw or rejected; the call went on as if it had not. */
  error?(event: { listener: string; error: unknown }): void;
}

/** A listener that throws or rejects must not change what the call does, nor crash the process. */
export function emit<K extends Exclude<keyof DurableEvents, 'error'>>(
  on: DurableEvents,
  name: K,
  event: Parameters<NonNullable<DurableEvents[K]>>[0],
): void {
  const listener = on[name] as ((event: unknown) => unknown) | undefined;
  if (listener === undefined) return;
  const reportFailure = (error: unknown) => {
    try {
      // Typed void, but an async error listener returns a promise: its rejection must not go unhandled.
      const reported: unknown = on.error?.({ listener: name, error });
      if (reported instanceof Promise) reported.catch(() => {});
    } catch {
      // The error listener failing too is where reporting ends.
    }
  };
  try {
    const result = listener(event);
    if (result instanceof Promise) result.catch(reportFailure);
  } catch (error) {
    reportFailure(error);
  }
}
