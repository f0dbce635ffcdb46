/**
 * Whether a failed attempt reached the server: what tells "down" from "slow". A refused
 * connection or a name that did not resolve never got there, so nothing can have happened; a
 * timeout or a connection dropped after sending may have been applied, which is what the key is
 * for.
 */
import { NetworkError, TimeoutError } from 'ky';
import { IdempotencyRedirectError } from './errors.js';
import { RetryableAnswer } from './retry.js';

/** `true`: the server answered. `false`: the request never reached it. `'maybe'`: it may have. */
export type ReachedServer = boolean | 'maybe';

/** Error codes (Node, undici, Bun, Deno) that mean no byte of the request reached a server. */
const NEVER_REACHED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL', 'ConnectionRefused']);

export function reachedServer(error: unknown): ReachedServer {
  // A redirect is an answer: the server had the request, and said to send it elsewhere.
  if (error instanceof RetryableAnswer || error instanceof IdempotencyRedirectError) return true;
  if (error instanceof TimeoutError) return 'maybe';
  if (error instanceof NetworkError) return NEVER_REACHED.has(causeCode(error) ?? '') ? false : 'maybe';
  return 'maybe';
}

/** The system error code somewhere down the cause chain (ky → fetch's TypeError → the socket's error). */
function causeCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
