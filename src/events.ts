import type { IdempotencyIntegrityError } from './errors.js';
import type { ReachedServer } from './reach.js';
import type { IntentState } from './stores/store.js';

/** What a call did, as it happens: for logs, counters and traces (`on` option). URLs are masked (`maskUrl`: secret query and fragment values, userinfo). */
export interface OperationEvent {
  idempotencyKey: string;
  method: string;
  url: string;
}

export interface DurableEvents {
  /**
   * A logical operation begins: a call, or the resend of a claimed intent by `recover()`/`relay()`.
   * A recovery carries the `traceparent` stored with the intent, when the call that journaled it had one.
   */
  start?(event: OperationEvent & { recovery: boolean; traceparent?: string }): unknown;
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
  /**
   * A retry was not made: the client's retry budget for this origin is spent (an outage?), or, for
   * `recover()`/`relay()`, down to the half kept for live calls. `tokens`: what the origin has
   * left. The operation ends with a `RetryBudgetError`; its intent stays pending for recovery.
   */
  throttle?(event: OperationEvent & { origin: string; tokens: number; reason: string; reachedServer: ReachedServer }): unknown;
  /** The server marked its answer as a replay of an earlier one. */
  replay?(event: OperationEvent & { status: number }): unknown;
  /**
   * The journal settled the call without a request: a `succeeded` answer or a `failed` error
   * repeated, an `expired` intent refused, or a `pending` one parked (the server asked for a wait).
   */
  journalAnswer?(event: OperationEvent & { state: 'succeeded' | 'failed' | 'expired' | 'pending' }): unknown;
  /**
   * The call's key is held by another live owner (another process, tab or replica sending it):
   * this call waits, sending nothing, until that owner settles or releases it, dies, or its lease
   * ends (`leaseUntil`, epoch ms on the store's clock) — or until the call's `totalTimeout`.
   * Said once per owner waited for.
   */
  ownerWait?(event: OperationEvent & { owner: string; leaseUntil: number }): unknown;
  /**
   * A final answer could not be kept in the journal (larger than the store takes): the intent is
   * settled without it, so it is never sent again, and a repeat of the key is refused rather than
   * answered. The caller of this call got the answer.
   */
  unstoredAnswer?(event: OperationEvent & { state: 'succeeded' | 'failed'; reason: string }): unknown;
  /**
   * An intent read back from the journal to be sent again (by `recover()`, `relay()`, or a call
   * taking over its key) does not match itself: its body, method or URL no longer give its stored
   * fingerprint, its id or origin do not follow from its key and URL, or a field is malformed.
   * `reason` says which, quoting nothing. Nothing was sent; the intent stays pending, for an
   * operator (`resolve()`). `error` is the `IdempotencyIntegrityError` the call or outcome carries.
   */
  damaged?(event: OperationEvent & { reason: string; error: IdempotencyIntegrityError }): unknown;
  /**
   * `recover()` or `relay()` finished with one intent; `skipped`: not sent — not this client's to
   * send (another origin), or damaged (`error` is an `IdempotencyIntegrityError`).
   */
  recovery?(event: OperationEvent & { state: 'succeeded' | 'failed' | 'expired' | 'pending' | 'skipped'; error?: unknown }): unknown;
  /** A listener threw or rejected; the call went on as if it had not. */
  error?(event: { listener: string; error: unknown }): void;
  /**
   * Not an event but a question, asked as a new intent is journaled (a call, or `enqueue()`): the
   * W3C `traceparent` of the operation, stored with the intent so that whoever recovers it can
   * link to it. `tracing()` answers it; anything not shaped like a `traceparent` is not stored.
   */
  traceparent?(event: OperationEvent): string | undefined;
}

/** `version-traceid-parentid-flags`, lower-case hex, neither id all zeros (W3C Trace Context). */
const TRACEPARENT = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The operation's `traceparent` to store with its intent, if the listeners give a valid one; a throwing listener is reported, never fatal. */
export function traceparentOf(on: DurableEvents, event: () => OperationEvent): string | undefined {
  if (on.traceparent === undefined) return undefined;
  try {
    const value = on.traceparent(event());
    return typeof value === 'string' && TRACEPARENT.test(value) ? value : undefined;
  } catch (error) {
    reportListenerFailure(on, 'traceparent', error);
    return undefined;
  }
}

/** A listener that throws or rejects must not change what the call does, nor crash the process. */
export function emit<K extends Exclude<keyof DurableEvents, 'error' | 'traceparent'>>(
  on: DurableEvents,
  name: K,
  event: Parameters<NonNullable<DurableEvents[K]>>[0],
): void {
  const listener = on[name] as ((event: unknown) => unknown) | undefined;
  if (listener === undefined) return;
  const reportFailure = (error: unknown) => reportListenerFailure(on, name, error);
  try {
    const result = listener(event);
    if (result instanceof Promise) result.catch(reportFailure);
  } catch (error) {
    reportFailure(error);
  }
}

function reportListenerFailure(on: DurableEvents, listener: string, error: unknown): void {
  try {
    // Typed void, but an async error listener returns a promise: its rejection must not go unhandled.
    const reported: unknown = on.error?.({ listener, error });
    if (reported instanceof Promise) reported.catch(() => {});
  } catch {
    // The error listener failing too is where reporting ends.
  }
}
