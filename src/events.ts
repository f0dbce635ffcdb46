/** What a call did, as it happens: for logs, counters and traces (`on` option). */
export interface OperationEvent {
  idempotencyKey: string;
  method: string;
  url: string;
}

export interface DurableEvents {
  /** An attempt is about to be sent (1-based `attempt`). */
  attempt?(event: OperationEvent & { attempt: number }): void;
  /** An attempt failed and another follows after `delay` ms; `reason` says why (`network error`, `timeout`, `503`, `429`, `409 in flight`). */
  retry?(event: OperationEvent & { attempt: number; delay: number; reason: string; error: unknown }): void;
  /** The server marked its answer as a replay of an earlier one. */
  replay?(event: OperationEvent & { status: number }): void;
  /** The journal settled the call without a request: a `succeeded` answer or a `failed` error repeated, or an `expired` intent refused. */
  journalAnswer?(event: OperationEvent & { state: 'succeeded' | 'failed' | 'expired' }): void;
  /** `recover()` finished with one intent. */
  recovery?(event: OperationEvent & { state: 'succeeded' | 'failed' | 'expired' | 'pending'; error?: unknown }): void;
}

/** A listener that throws must not change what the call does. */
export function emit<E>(listener: ((event: E) => void) | undefined, event: E): void {
  try {
    listener?.(event);
  } catch {
    // Deliberately ignored; see above.
  }
}
