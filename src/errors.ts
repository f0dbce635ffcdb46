/**
 * The idempotency errors. Each one carries what a catcher needs to decide: the key, the server's
 * status and its own code, and the response (a fresh copy, its body unread).
 */
export interface IdempotencyErrorDetails {
  idempotencyKey: string;
  status?: number;
  code?: string;
  response?: Response;
  cause?: unknown;
}

export class IdempotencyError extends Error {
  readonly idempotencyKey: string;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly response: Response | undefined;

  constructor(message: string, details: IdempotencyErrorDetails) {
    super(message, { cause: details.cause });
    this.name = new.target.name;
    this.idempotencyKey = details.idempotencyKey;
    this.status = details.status;
    this.code = details.code;
    this.response = details.response;
  }
}

/** The key was already used for another request (method, path with query, or body). */
export class IdempotencyMismatchError extends IdempotencyError {}

/** Another request with this key is still in flight, and it still was when retries ran out. */
export class IdempotencyConflictError extends IdempotencyError {}

/** The key is not one the client or the server accepts (empty, too long, not printable ASCII). */
export class IdempotencyKeyInvalidError extends IdempotencyError {}

/** The intent is older than the key's TTL: resending it could run the operation twice. */
export class IdempotencyKeyExpiredError extends IdempotencyError {}

/** The journal could not be read or written; no request was sent. */
export class IdempotencyStoreError extends IdempotencyError {}

/**
 * A keyed write was answered with a redirect it may not follow: to another origin, with a
 * 301/302/303 (which fetch would turn into a GET), in a loop or past the hop limit, or hidden by
 * the browser (an opaque redirect). Nothing of the request went to the redirect's target; the
 * intent stays pending, released, for an operator to judge (`resolve()`, or fix the client's URL
 * and `recover()`). `status` is the redirect's (undefined when the browser hides it).
 */
export class IdempotencyRedirectError extends IdempotencyError {
  /**
   * Where the server pointed, as URLs are shown (userinfo dropped, credential-like query values
   * masked); undefined when the answer had none, or the browser hides it.
   */
  readonly location: string | undefined;

  constructor(message: string, details: IdempotencyErrorDetails & { location: string | undefined }) {
    super(message, details);
    this.location = details.location;
  }
}

/**
 * An intent read back from the journal no longer matches itself: its body, method or URL do not
 * give its stored fingerprint, its id or origin do not follow from its key, method and URL, or a
 * field is malformed (a URL with credentials, an unknown key format, unreadable headers). Nothing
 * was sent; the intent stays pending, for an operator to check with the API and `resolve()`.
 */
export class IdempotencyIntegrityError extends IdempotencyError {
  /** What does not match, in words (never the stored values). */
  readonly reason: string;

  constructor(message: string, details: IdempotencyErrorDetails & { reason: string }) {
    super(message, details);
    this.reason = details.reason;
  }
}

/**
 * The client's retry budget for the origin stopped the call before its retry limit: many requests
 * to it failed at once. Nothing about the operation is settled: its intent is still pending, for
 * `recover()` or `relay()`. `cause` is the failure that was not retried.
 */
export class RetryBudgetError extends IdempotencyError {
  /** The origin whose budget is spent. */
  readonly origin: string;

  constructor(message: string, details: IdempotencyErrorDetails & { origin: string }) {
    super(message, details);
    this.origin = details.origin;
  }
}

/**
 * An error as one caller gets it, when several callers share one operation: a copy of its own —
 * same class, fields and stack — with its own unread copy of the response, so one caller reading
 * `error.response` (or changing the error) leaves every other caller's whole. The original is
 * never handed out; anything but an Error is returned as it is.
 */
export function ownCopy<T>(error: T): T {
  if (!(error instanceof Error)) return error;
  const copy = Object.create(Object.getPrototypeOf(error)) as Error;
  Object.defineProperties(copy, Object.getOwnPropertyDescriptors(error));
  const { response } = error as { response?: unknown };
  if (response instanceof Response && !response.bodyUsed) Object.defineProperty(copy, 'response', { value: response.clone(), enumerable: true, configurable: true });
  return copy as T;
}
