/**
 * The journal's record of one logical operation. Plain JSON on purpose: every store can keep it
 * as it is (structured clone, a JSON line), and nothing in it is a credential.
 */
export interface Intent {
  /** Partition of the journal: a tenant, or by default the request origin. */
  scope: string;
  idempotencyKey: string;
  /** Upper-case HTTP method. */
  method: string;
  /** Absolute URL, query included, as it was sent. */
  url: string;
  /** Only the allow-listed headers (`persistHeaders`), lower-case names. Never credentials. */
  headers: Record<string, string>;
  /** The exact body bytes sent on every attempt, base64; absent when the request had none. */
  body?: string;
  /** SHA-256 (hex) of method, path with query, and body bytes. */
  fingerprint: string;
  /** Epoch ms when the intent was first journaled. */
  createdAt: number;
  /** Epoch ms of the last change. */
  updatedAt: number;
  /**
   * Epoch ms after which a settled intent may be compacted away (createdAt + keyTtlMs): until
   * then the server may still remember the key, so the journal must too.
   */
  expiresAt: number;
  /** Attempts made so far (recorded when the call settles or gives up for now). */
  attempts: number;
  state: IntentState;
  /** The final answer: kept for `succeeded` (to answer from the journal) and for `failed`. */
  response?: StoredResponse;
}

/**
 * `pending`: not settled, `recover()` resends it. `succeeded`: 2xx kept. `failed`: a final 4xx the
 * server cached too. `expired`: recovery found it older than the key's TTL and did not resend it.
 */
export type IntentState = 'pending' | 'succeeded' | 'failed' | 'expired';

export interface StoredResponse {
  status: number;
  statusText: string;
  /** Response headers worth replaying (content-type and the like), lower-case names. */
  headers: Record<string, string>;
  /** Body bytes, base64. */
  body: string;
}

/**
 * Where intents live. Each method is async, and a resolved `put` is durable: the client sends
 * nothing until the intent's `put` has resolved. Records are replaced whole; the latest `put`
 * of an intent (by `intentId`) wins.
 */
export interface IntentStore {
  /** The intent with this identity in this scope, if any. */
  get(scope: string, id: string): Promise<Intent | undefined>;
  /** Store (insert or replace) the intent; durable once resolved. */
  put(intent: Intent): Promise<void>;
  /** Every intent of the scope (of all scopes when omitted), in no particular order. */
  list(scope?: string): Promise<Intent[]>;
  /** Release files, handles or connections. The store may not be used afterwards. */
  close?(): Promise<void>;
}

/**
 * An intent is identified by key + method + path within its scope: seed 001 lets one key serve
 * several routes, so only the server may judge a key reused on another route.
 */
export function intentId(intent: Pick<Intent, 'idempotencyKey' | 'method' | 'url'>): string {
  return `${intent.method} ${new URL(intent.url).pathname} ${intent.idempotencyKey}`;
}

/** A settled intent past its retention may be dropped; a pending one never is. */
export function isCompactable(intent: Intent, now: number): boolean {
  return intent.state !== 'pending' && intent.expiresAt <= now;
}
