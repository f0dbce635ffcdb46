/**
 * The journal's contract. A store keeps plain records and answers a handful of atomic
 * questions; every decision about what a record means (may it be sent, answered, compacted)
 * lives in the client or in the helpers at the bottom of this file, so no store re-invents it.
 *
 * Concurrency model: every change after creation is a compare-and-set on `version`. Two writers
 * that read the same version cannot both win, so a stale writer (another process, a resumed
 * pause, a second tab) never overwrites a newer outcome. Ownership is a lease: `owner` works on a
 * pending intent until `leaseUntil`; anyone else may `claim` it only after that — or at once when
 * the store can see that the owner is gone (`enlist`).
 *
 * Time is the store's. Every instant in a record (`createdAt`, `updatedAt`, `expiresAt`,
 * `leaseUntil`) is read off the store's own clock, which every claimant shares and which a
 * client's wall clock cannot move: the database's clock for PostgreSQL and Redis, the host's
 * monotonic clock for SQLite. Writers therefore say how long (`leaseMs`), never until when, and
 * the store works out the instant when the write lands — not when it was asked for, which may be
 * long before if the connection was down.
 *
 * Times and durations have a range, and a record read back that is out of it or has no intent's
 * shape is a damaged record, handed out to nobody: `record-shape.ts`.
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
  /** When the intent was first journaled: epoch ms on the store's clock. */
  createdAt: number;
  /** When it was last written (created, changed or claimed), on the store's clock. */
  updatedAt: number;
  /** createdAt + keyTtlMs: after it the server may have forgotten the key. Settled intents are kept until then. */
  expiresAt: number;
  /** Attempts made so far, by every owner. */
  attempts: number;
  state: IntentState;
  /** Who works on it now (an opaque id per client), or null when nobody does. */
  owner: string | null;
  /**
   * Until when `owner` holds it, on the store's clock. An unowned intent with a `leaseUntil` still
   * to come is parked: nobody claims it before then (a server asked for a long wait). 0 when never owned.
   */
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

/**
 * The fields a compare-and-set write may change. Identity, request and `createdAt` never change;
 * `updatedAt` becomes the store's now on every write. A field left out (or undefined) is left as it is.
 */
export type IntentChange = Partial<Pick<Intent, 'state' | 'attempts' | 'owner' | 'response'>> & {
  /**
   * Sets `leaseUntil` to the store's now plus this many ms: a renewal (the lease), a release
   * (0: free at once) or a parking (how long nobody may claim it). Never an instant: the
   * writer's clock is not the store's.
   */
  leaseMs?: number;
};

/** Which intents a `claim` may take. */
export interface ClaimRequest {
  scope: string;
  /** Only intents for these origins. */
  origins: readonly string[];
  /** Only intents in these states (`pending`, and `expired` when resending them knowingly). */
  states: readonly IntentState[];
  /** The claimant: becomes `owner`. */
  owner: string;
  /** The claimant's lease, ms: `leaseUntil` becomes the store's now plus this. */
  leaseMs: number;
  /** At most this many, oldest `createdAt` first (ties in the order they were created). */
  limit: number;
  /** Only the intent with this id: a caller taking over its own key. */
  id?: string;
  /**
   * Only intents last written before this instant of the store's clock (an `updatedAt` a claim
   * returned): a recovery pass leaves what it has itself released for the next pass.
   */
  unchangedBefore?: number;
  /** Never these ids (what a recovery pass took within the instant it began, which `unchangedBefore` cannot tell apart). */
  excluding?: readonly string[];
}

/**
 * An owner whose death claimants can see (`IntentStore.enlist`): the store keeps a sign of its life
 * — a database session, a Web Lock, the process itself — that ends when it does.
 */
export interface Enlistment {
  /** The owner id to write into intents. */
  owner: string;
  /** The owner is done (its client closed): its sign of life ends, and it holds nothing any more. */
  release(): Promise<void>;
  /**
   * Optional: settles if the sign of life ends while its holder lives on, without `release()` —
   * a Web Lock the browser takes from a page it keeps for later (WebKit's back/forward cache).
   * Claimants see this owner as gone from then on, so it is used for no new work. Never settles
   * otherwise.
   */
  lost?: Promise<void>;
}

export interface ListQuery {
  /** One scope; every scope when omitted. */
  scope?: string;
  /** Only these states; every state when omitted. */
  states?: readonly IntentState[];
  /** Told of each damaged record the listing met and left out (`readRecords`), once per listing. */
  onDamaged?: (record: DamagedRecord) => void;
}

/**
 * A record a store holds but cannot hand out as an intent: its times are out of range or no
 * numbers, or its fields have no intent's shape. `scope` and `id` say where it is, when they are
 * text; `reason` says what is wrong in words that quote none of its values.
 */
export interface DamagedRecord {
  scope: string | undefined;
  id: string | undefined;
  /** Its key, method and URL, where they are text (the URL as stored: shown masked, as every URL is). */
  idempotencyKey?: string;
  method?: string;
  url?: string;
  reason: string;
}


/**
 * Where intents live. Every method is async; a resolved write is durable (the client sends
 * nothing until `create` has resolved). Records are returned as copies: mutating one changes
 * nothing stored. Run `describeIntentStore` from `durable-fetch/testing` against any
 * implementation.
 */
export interface IntentStore {
  /** The whole intent (payloads included) with this identity in this scope, if any; `DamagedRecordError` when its record is damaged. */
  get(scope: string, id: string): Promise<Intent | undefined>;
  /**
   * Inserts `intent` (its `version` is ignored and stored as 1) unless one with the same scope and
   * id exists. Resolves `undefined` when inserted, else the existing intent, untouched: two
   * callers racing on one key cannot both create it. Its times are re-based on the store's clock
   * (`rebased`): `createdAt` and `updatedAt` become the store's now, and `expiresAt` and an owned
   * intent's `leaseUntil` keep their distance from `createdAt`.
   */
  create(intent: Intent, options?: CreateOptions): Promise<Intent | undefined>;
  /**
   * Compare-and-set: applies `change` only if the stored intent still has `version`, and bumps
   * the version. Resolves the new version, or `undefined` when the intent is gone or another
   * writer changed it first (nothing written).
   */
  update(scope: string, id: string, version: number, change: IntentChange): Promise<number | undefined>;
  /**
   * Atomically takes up to `limit` intents matching the request whose lease has ended on the
   * store's clock, or whose owner the store can see is gone (`enlist`), making `owner` their
   * owner for `leaseMs` (version bumped, `updatedAt` the store's now). However many claimants
   * race, each intent goes to one of them. Resolves the claimed intents, payloads included.
   * Damaged records are passed over, never taken and never counted against `limit` (`list` tells of them).
   */
  claim(request: ClaimRequest): Promise<Intent[]>;
  /**
   * Summaries matching the query, oldest `createdAt` first. Records of unknown states are left
   * out; so are damaged records, each told to `query.onDamaged`.
   */
  list(query?: ListQuery): Promise<IntentSummary[]>;
  /**
   * Deletes what `isCompactable` allows at the store's now; resolves how many were deleted. Never
   * touches `pending`, `expired`, or any record this version does not understand.
   */
  compact(): Promise<number>;
  /**
   * Optional liveness: a new owner id whose death this store can see. Claims then take its
   * intents at once once it is gone, rather than when its lease runs out. Without it, owners are
   * seen only through their leases.
   */
  enlist?(): Promise<Enlistment>;
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

export * from './rules.ts';
export * from './record-shape.ts';
