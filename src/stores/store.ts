/**
 * The journal's contract. A store keeps plain records and answers a handful of atomic
 * questions; every decision about what a record means (may it be sent, answered, compacted)
 * lives in the client or in the helpers at the bottom of this file, so no store re-invents it.
 *
 * Concurrency model: every change after creation is a compare-and-set on `version`. Two writers
 * that read the same version cannot both win, so a stale writer (another process, a resumed
 * pause, a second tab) never overwrites a newer outcome. Ownership is a lease: `owner` works on a
 * pending intent until `leaseUntil`; anyone else may `claim` it only after that.
 */

/** Key header value format: the bare key, or an RFC 8941 sf-string as the IETF draft writes it. */
export type KeyFormat = 'token' | 'sf-string';

/**
 * `pending`: the outcome is not known yet; its owner (or, once the lease runs out, a recovering
 * client) resends it. `succeeded`: a 2xx is kept. `failed`: a final refusal the server caches too.
 * `expired`: older than the key's TTL with its outcome unknown — kept and listed, resent only
 * knowingly (`resendExpired`) or settled by an operator (`resolve()`).
 */
export type IntentState = 'pending' | 'succeeded' | 'failed' | 'expired';

/** States whose outcome is unknown: never compacted, listed by `pending()`. */
export const UNSETTLED_STATES: readonly IntentState[] = ['pending', 'expired'];

export interface StoredResponse {
  status: number;
  statusText: string;
  /** Response headers worth replaying (content-type and the like), lower-case names; never credentials. */
  headers: Record<string, string>;
  body: Uint8Array;
}

/**
 * The journal's record of one logical operation. Nothing in it is a credential: headers are
 * allow-listed, and URLs never carry userinfo.
 */
export interface Intent {
  /** Partition of the journal: a tenant, an API key's owner. */
  scope: string;
  /** The intent's identity within its scope; see `intentId`. */
  id: string;
  idempotencyKey: string;
  /** Upper-case HTTP method. */
  method: string;
  /** Absolute URL, query included, exactly as it is sent. */
  url: string;
  /** `new URL(url).origin`, kept so stores can select by it. */
  origin: string;
  /** Only the allow-listed headers (`persistHeaders`), lower-case names. Never credentials. */
  headers: Record<string, string>;
  /** The header carrying the key, and how its value is written: recovery sends it the same way. */
  keyHeader: string;
  keyFormat: KeyFormat;
  /** The exact body bytes sent on every attempt; absent when the request had none. */
  body?: Uint8Array;
  /** SHA-256 (hex) of method, path with query, and body bytes. */
  fingerprint: string;
  /** Epoch ms when the intent was first journaled. */
  createdAt: number;
  /** Epoch ms of the last change. */
  updatedAt: number;
  /** createdAt + keyTtlMs: after it the server may have forgotten the key. Settled intents are kept until then. */
  expiresAt: number;
  /** Attempts made so far, by every owner. */
  attempts: number;
  state: IntentState;
  /** Who works on it now (an opaque id per client), or null when nobody does. */
  owner: string | null;
  /** Epoch ms until which `owner` holds it; 0 when unowned. */
  leaseUntil: number;
  /** Bumped by the store on every write; the compare-and-set token. Starts at 1. */
  version: number;
  /** The final answer: kept for `succeeded` (to answer from the journal) and for `failed`. */
  response?: StoredResponse;
  /**
   * The W3C `traceparent` of the operation that journaled it, when the client traces (see
   * `durable-fetch/otel`): a recovery's span links to it. Never changes.
   */
  traceparent?: string;
}

/** What `list` returns: an intent without its payloads, which stay in the store until asked for. */
export type IntentSummary = Omit<Intent, 'body' | 'response' | 'headers' | 'traceparent'>;

/** The fields a compare-and-set write may change. Identity, request and `createdAt` never change. */
export type IntentChange = Partial<Pick<Intent, 'state' | 'attempts' | 'owner' | 'leaseUntil' | 'updatedAt' | 'response'>>;

/** Which intents a `claim` may take. */
export interface ClaimRequest {
  scope: string;
  /** Only intents for these origins. */
  origins: readonly string[];
  /** Only intents in these states (`pending`, and `expired` when resending them knowingly). */
  states: readonly IntentState[];
  /** The claimant: becomes `owner`. */
  owner: string;
  /** Only intents whose lease ended at or before this instant (epoch ms). */
  now: number;
  /** The claimant's lease: becomes `leaseUntil`. */
  leaseUntil: number;
  /** At most this many, oldest `createdAt` first. */
  limit: number;
}

export interface ListQuery {
  /** One scope; every scope when omitted. */
  scope?: string;
  /** Only these states; every state when omitted. */
  states?: readonly IntentState[];
}

/**
 * Where intents live. Every method is async; a resolved write is durable (the client sends
 * nothing until `create` has resolved). Records are returned as copies: mutating one changes
 * nothing stored. Run `describeIntentStore` from `durable-fetch/testing` against any
 * implementation.
 */
export interface IntentStore {
  /** The whole intent (payloads included) with this identity in this scope, if any. */
  get(scope: string, id: string): Promise<Intent | undefined>;
  /**
   * Inserts `intent` (its `version` is ignored and stored as 1) unless one with the same scope and
   * id exists. Resolves `undefined` when inserted, else the existing intent, untouched: two
   * callers racing on one key cannot both create it.
   */
  create(intent: Intent, options?: CreateOptions): Promise<Intent | undefined>;
  /**
   * Compare-and-set: applies `change` only if the stored intent still has `version`, and bumps
   * the version. Resolves the new version, or `undefined` when the intent is gone or another
   * writer changed it first (nothing written).
   */
  update(scope: string, id: string, version: number, change: IntentChange): Promise<number | undefined>;
  /**
   * Atomically takes up to `limit` intents matching the request whose lease has ended, making
   * `owner` their owner until `leaseUntil` (version bumped). However many claimants race, each
   * intent goes to one of them. Resolves the claimed intents, payloads included.
   */
  claim(request: ClaimRequest): Promise<Intent[]>;
  /** Summaries matching the query, oldest `createdAt` first. Records of unknown states are left out. */
  list(query?: ListQuery): Promise<IntentSummary[]>;
  /**
   * Deletes what `isCompactable` allows at `now`; resolves how many were deleted. Never touches
   * `pending`, `expired`, or any record this version does not understand.
   */
  compact(now: number): Promise<number>;
  /**
   * Optional: calls `onChange` whenever intents may have become claimable elsewhere (another
   * process committed or released one), so a relay wakes at once instead of at its next poll.
   * Returns a function that stops watching. A store without it is polled.
   */
  watch?(onChange: () => void): () => Promise<void>;
  /** Releases files, handles or connections. The store may not be used afterwards. */
  close(): Promise<void>;
}

/** Store-specific context of a `create`. */
export interface CreateOptions {
  /**
   * The caller's own open transaction (for `postgresStore`: a `pg` client inside `BEGIN`): the
   * intent commits or rolls back with it. A store that has no such thing refuses one.
   */
  transaction?: unknown;
}

/**
 * An intent is identified by key + method + origin + path within its scope: seed 001 lets one key
 * serve several routes, so only the server may judge a key reused on another route; two hosts
 * never share an intent.
 */
export function intentId(idempotencyKey: string, method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname} ${idempotencyKey}`;
}

/** A settled intent past its retention may be dropped; unknown outcomes and unknown records never are. */
export function isCompactable(intent: Pick<Intent, 'state' | 'expiresAt'>, now: number): boolean {
  return (intent.state === 'succeeded' || intent.state === 'failed') && intent.expiresAt <= now;
}

/** The summary `list` gives of a whole intent, for stores that keep whole records: a new object, payloads left out. */
export function toSummary({ body: _body, response: _response, headers: _headers, traceparent: _traceparent, ...summary }: Intent): IntentSummary {
  return summary;
}

/** Whether a claimant may take the intent now: the rule `claim` applies, for stores that filter in code. */
export function isClaimable(intent: IntentSummary, request: ClaimRequest): boolean {
  return (
    intent.scope === request.scope &&
    request.origins.includes(intent.origin) &&
    request.states.includes(intent.state) &&
    intent.leaseUntil <= request.now
  );
}

/** The states this version understands; a record in any other was written by a newer version. */
export function isKnownState(state: string): state is IntentState {
  return state === 'pending' || state === 'succeeded' || state === 'failed' || state === 'expired';
}

/** For stores with no transactions of their own: a `transaction` given to them is a mistake to say out loud. */
export function refuseTransaction(options: CreateOptions | undefined, store: string): void {
  if (options?.transaction !== undefined) {
    throw new TypeError(`${store} cannot write in your transaction: only postgresStore takes \`transaction\`.`);
  }
}
