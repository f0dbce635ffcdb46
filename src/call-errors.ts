/**
 * The errors a call can end with, built where they are decided: each says what happened, what
 * was sent (or that nothing was), and what to do; none repeats a secret.
 */
import { HTTPError, type NormalizedOptions as KyNormalizedOptions, TimeoutError } from 'ky';
import { describe } from './about.js';
import type { OperationAbout, PreparedCall, Settlement } from './call-types.js';
import { parseBody, type Verdict } from './classify.js';
import { maskUrl } from './credentials.js';
import { IdempotencyConflictError, IdempotencyError, IdempotencyKeyExpiredError, IdempotencyKeyInvalidError, IdempotencyMismatchError, IdempotencyStoreError } from './errors.js';
import { emit } from './events.js';
import { type Answer, answerText, toResponse } from './response.js';
import type { ClientRuntime } from './runtime.js';
import type { Intent } from './stores/store.js';

/** ky's TimeoutError for a call's total time limit, naming the request without a secret. */
export function timeoutError({ method, url }: OperationAbout): TimeoutError {
  return new TimeoutError(new Request(url, { method }));
}
/** A call stopped while it waited for another owner: by its caller, or by its total time limit. */
export class WaitedForOwner extends Error {
  constructor(
    readonly intent: Intent,
    readonly reason: unknown,
  ) {
    super('stopped waiting for another owner');
  }
}
/** What a call that stopped before it owned its intent rejects with. */
export function stoppedWaiting(error: unknown, signal: AbortSignal, expired: boolean): unknown {
  if (!(error instanceof WaitedForOwner)) return error;
  if (signal.aborted || !expired) return error.reason;
  const { idempotencyKey, owner, leaseUntil } = error.intent;
  return new IdempotencyConflictError(
    `Key "${idempotencyKey}" is being sent by another owner (${owner}, lease until about ${new Date(leaseUntil).toISOString()}); ` +
      'this call waited for it until its totalTimeout ran out and sent nothing. The intent stays pending with that owner.',
    { idempotencyKey },
  );
}
/** The lease ran out and someone else claimed the intent: stop, write nothing. */
export class OwnershipLost extends Error {}
/** The lease ran out while the store could not be reached to renew it: nothing may be sent. */
export class LeaseUnconfirmed extends Error {}
/**
 * Nobody holds the intent, yet it may not be claimed: a server asked for a wait longer than
 * `maxRetryAfter` (Retry-After), and the intent is parked until then. Nothing is sent now.
 */
export function parked(intent: Intent, runtime: ClientRuntime): Settlement {
  const { idempotencyKey } = intent;
  const until = new Date(intent.leaseUntil).toISOString();
  const error = new IdempotencyError(
    `Key "${idempotencyKey}" is parked until about ${until}: the server asked for that wait (Retry-After). Nothing was sent; ` +
      'recover() or relay() sends it once the wait is over.',
    { idempotencyKey },
  );
  emit(runtime.config.on, 'journalAnswer', { ...describe(intent, runtime), state: 'pending' });
  return { state: 'pending', error };
}
/** The key already stands for another request on this route: refused before anything is sent. */
export function mismatch(call: PreparedCall, runtime: ClientRuntime): Settlement {
  const error = new IdempotencyMismatchError(
    `Key "${call.idempotencyKey}" was already used for a different ${call.method} ${maskUrl(call.url.href, runtime.config.secretParams)} request (other body or query); nothing was sent. ` +
      'If this is a new operation, use a new key; if it is the same one, send exactly the same request.',
    { idempotencyKey: call.idempotencyKey },
  );
  return { state: undefined, error };
}
export function storeError(what: string, idempotencyKey: string, cause: unknown): IdempotencyStoreError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new IdempotencyStoreError(`${what}: ${reason}`, { idempotencyKey, cause });
}
export function expiredError(intent: Pick<Intent, 'idempotencyKey'>, runtime: ClientRuntime): IdempotencyKeyExpiredError {
  return new IdempotencyKeyExpiredError(
    `Key "${intent.idempotencyKey}" is older than keyTtlMs (${runtime.config.keyTtlMs} ms) and its outcome is unknown: not resent, as the server may ` +
      "have forgotten the key and run it twice. Check with the API, then settle it with resolve(), or resend it knowingly with recover({ resendExpired: true }).",
    { idempotencyKey: intent.idempotencyKey },
  );
}
/** What each kind of server refusal says, and what to do about it. */
const REFUSALS = {
  mismatch: [IdempotencyMismatchError, 'was used for another request'],
  'invalid-key': [IdempotencyKeyInvalidError, 'is invalid'],
  conflict: [IdempotencyConflictError, 'is still in flight; the intent stays pending'],
} as const;
/** The error a final (or finally retried-out) non-2xx answer stands for. */
export function answerError(verdict: Verdict, answer: Answer, intent: Pick<Intent, 'idempotencyKey' | 'method' | 'url'>, runtime: ClientRuntime): Error {
  const code = verdict.kind === 'success' ? undefined : verdict.code;
  const refusal = verdict.kind === 'conflict' && !verdict.signal ? undefined : REFUSALS[verdict.kind as keyof typeof REFUSALS];
  // The answer's URL (a redirect's, maybe) is shown as any URL is.
  const response = toResponse({ ...answer, url: maskUrl(answer.url, runtime.config.secretParams) });
  const { idempotencyKey, method, url } = describe(intent, runtime);
  if (refusal === undefined) {
    // The request in the error names what was sent, never with its credentials.
    const error = new HTTPError(response, new Request(url, { method }), {} as KyNormalizedOptions);
    const text = answerText(answer);
    return Object.assign(error, { idempotencyKey, data: text === '' ? undefined : parseBody(text) });
  }
  const [ErrorClass, says] = refusal;
  return new ErrorClass(`Server says key "${idempotencyKey}" ${says} (${answer.status} on ${method} ${url}).`, { idempotencyKey, status: answer.status, code, response });
}
