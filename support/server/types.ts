import type { Dialect } from './dialects.js';
import type { Fault, FaultScript } from './faults.js';

/** What became of a request, for assertions and for reading a failing test's log. */
export type Outcome =
  | 'applied' // a side effect ran (or, for /v1/invalid and /v1/business-conflict, the answer was made and stored)
  | 'replayed'
  | 'mismatch'
  | 'in-flight'
  | 'invalid-key'
  | 'read'
  | 'fault'
  | 'not-found';

export interface SeenRequest {
  method: string;
  /** With query. */
  path: string;
  /** The Idempotency-Key header value as received. */
  key: string | undefined;
  /** The Authorization header, or ''. */
  tenant: string;
  /** 1-based: how many requests with this tenant+key the server has seen so far, this one included (1 without a key). */
  attempt: number;
  body: string;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The fault injected into this request, if any. */
  fault?: Fault;
  outcome?: Outcome;
  /** The status answered; undefined while pending or when the socket was dropped. */
  status?: number;
}

/** A CORS preflight as received: what the browser asked leave to send. */
export interface SeenPreflight {
  /** With query. */
  path: string;
  /** Access-Control-Request-Method. */
  method: string;
  /** Access-Control-Request-Headers as sent (lower-case names, comma-separated), or '' when absent. */
  headers: string;
}

export interface TestServerOptions {
  /** Default 'seed004'. */
  dialect?: Dialect;
  faults?: FaultScript;
  /** How long the server remembers a key. Default: the dialect's documented TTL (24 h; seed002 90 s). */
  keyTtlMs?: number;
  /** Default 0: a free port. */
  port?: number;
  /** The clock key expiry reads, so tests can move time instead of waiting. Default Date.now. */
  now?: () => number;
}

export interface TestServer {
  /** 'http://127.0.0.1:PORT' */
  url: string;
  port: number;
  readonly dialect: Dialect;
  /** Every request seen, in arrival order (CORS preflights and /__control/ excluded). Cleared in place by reset(). */
  requests: SeenRequest[];
  /** Every CORS preflight seen, in arrival order. Cleared in place by reset(). */
  preflights: SeenPreflight[];
  /** How many times the side effect for this key ran (any tenant, summed, unless one is given). */
  applied(key: string, tenant?: string): number;
  /** Side effects applied in total, keyed and unkeyed. */
  appliedTotal(): number;
  /** Side effects applied without a key. */
  appliedUnkeyed(): number;
  setFaults(faults: TestServerOptions['faults']): void;
  setDialect(dialect: Dialect): void;
  /** The server forgets every stored key, as after its TTL. */
  forgetKeys(): void;
  /** Forget keys, requests, attempt counts and applied counts. */
  reset(): void;
  /** The most requests open at one moment (arrived, not yet answered or dropped) since the start or the last reset. */
  maxConcurrent(): number;
  /** Resolves with the count-th request (1-based) once it has arrived and its processing has begun. */
  waitForRequests(count: number): Promise<SeenRequest>;
  /** Resolves when no slow answer is pending. */
  idle(): Promise<void>;
  /** Closes the server and every open socket, pending slow answers included. */
  close(): Promise<void>;
}
