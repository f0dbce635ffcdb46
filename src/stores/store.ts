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
 * Every time in a record is a whole number of ms from 0 (1970) to `LATEST_INSTANT` (the end of
 * the year 9999), and every duration a writer gives (`leaseMs`, and a new intent's key TTL and
 * lease) is a whole number of ms of at most `LONGEST_SPAN_MS` (ten years): a store refuses a
 * write with anything else (`checkTimes`, `TimeRangeError`) before it writes anything. What a store reads back goes through
 * one rule too (`readRecords`): a row whose times are out of that range or not numbers, or whose
 * fields have no intent's shape (written by hand, by another program, or by a damaged file), is a
 * damaged record — left out of `list` and `claim`, told to the caller's `onDamaged`, never
 * changed, compacted or thrown for the whole listing; `get` of it rejects with `DamagedRecordError`.
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

/**
 * An intent is identified by key + method + origin + path within its scope: seed 001 lets one key
 * serve several routes, so only the server may judge a key reused on another route; two hosts
 * never share an intent.
 */
export function intentId(idempotencyKey: string, method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname} ${idempotencyKey}`;
}

/**
 * `intent` as `create` stores it at the store's `now`: journaled now, its key's TTL and an owner's
 * lease counted from now, whatever clock the writer read. Unowned, `leaseUntil` stays as it was.
 */
export function rebased(intent: Intent, now: number): Intent {
  const { createdAt } = intent;
  return {
    ...intent,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + (intent.expiresAt - createdAt),
    leaseUntil: intent.owner === null ? intent.leaseUntil : now + (intent.leaseUntil - createdAt),
    version: 1,
  };
}

/**
 * Applies a compare-and-set write to a whole record at the store's `now`, for stores that keep
 * whole records: the fields given (undefined ones left as they are), `leaseMs` as an instant,
 * `updatedAt`, and the version bumped. Resolves the new version.
 */
export function applyChange(intent: Intent, change: IntentChange, now: number): number {
  const { leaseMs, ...fields } = change;
  for (const [field, value] of Object.entries(fields)) {
    if (value !== undefined) Object.assign(intent, { [field]: value });
  }
  if (leaseMs !== undefined) intent.leaseUntil = now + leaseMs;
  intent.updatedAt = now;
  return ++intent.version;
}

/** A claim taking `intent` at the store's `now`, for stores that keep whole records. */
export function applyClaim(intent: Intent, request: Pick<ClaimRequest, 'owner' | 'leaseMs'>, now: number): void {
  intent.owner = request.owner;
  intent.leaseUntil = now + request.leaseMs;
  intent.updatedAt = now;
  intent.version++;
}

/**
 * Whether the key's TTL had passed when the intent was claimed: `updatedAt` of a claimed intent
 * is the store's now at the claim, so no clock of the claimant's takes part.
 */
export function isExpiredAtClaim(intent: Pick<Intent, 'updatedAt' | 'expiresAt'>): boolean {
  return intent.updatedAt > intent.expiresAt;
}

/** A settled intent past its retention may be dropped; unknown outcomes and unknown records never are. */
export function isCompactable(intent: Pick<Intent, 'state' | 'expiresAt'>, now: number): boolean {
  return (intent.state === 'succeeded' || intent.state === 'failed') && intent.expiresAt <= now;
}

/** The summary `list` gives of a whole intent, for stores that keep whole records: a new object, payloads left out. */
export function toSummary({ body: _body, response: _response, headers: _headers, traceparent: _traceparent, ...summary }: Intent): IntentSummary {
  return summary;
}

/**
 * Whether a claimant may take the intent at the store's `now`: the rule `claim` applies, for
 * stores that filter in code. `isGone` says whether the store can see that an owner is dead.
 */
export function isClaimable(intent: IntentSummary, request: ClaimRequest, now: number, isGone: (owner: string) => boolean = () => false): boolean {
  return (
    intent.scope === request.scope &&
    (request.id === undefined || intent.id === request.id) &&
    request.origins.includes(intent.origin) &&
    request.states.includes(intent.state) &&
    (request.unchangedBefore === undefined || intent.updatedAt < request.unchangedBefore) &&
    !request.excluding?.includes(intent.id) &&
    (intent.leaseUntil <= now || (intent.owner !== null && isGone(intent.owner)))
  );
}

/**
 * A body or stored answer larger than the store keeps: refused before anything is written. Its
 * message names the store's option; the client tells it from a store that is down (an answer too
 * big to journal settles its intent without it, rather than being resent).
 */
export class PayloadTooLargeError extends Error {
  constructor(what: string, bytes: number, store: string, maxBodyBytes: number) {
    super(`The ${what} is ${bytes} bytes; the ${store} keeps at most ${maxBodyBytes} (option maxBodyBytes).`);
    this.name = 'PayloadTooLargeError';
  }
}

/** Refuses a record whose request body or stored answer is larger than `maxBodyBytes`, before it is copied or written. */
export function checkPayloads(record: Pick<Intent, 'body'> | IntentChange, maxBodyBytes: number, store: string): void {
  const sizes: [string, Uint8Array | undefined][] = [
    ['request body', 'body' in record ? record.body : undefined],
    ['stored answer body', 'response' in record ? record.response?.body : undefined],
  ];
  for (const [what, bytes] of sizes) {
    if (bytes && bytes.byteLength > maxBodyBytes) throw new PayloadTooLargeError(what, bytes.byteLength, store, maxBodyBytes);
  }
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

/** The latest instant a record may hold: the last ms of the year 9999 (the last a four-digit ISO date shows). */
export const LATEST_INSTANT = 253_402_300_799_999;

/** The longest duration a writer may have a store add to its now (a lease, a parking, a key's TTL): ten years. */
export const LONGEST_SPAN_MS = 10 * 365 * 24 * 60 * 60 * 1000;

/** An instant a record may hold: a whole number of ms from 0 to `LATEST_INSTANT`. */
export function isInstant(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= LATEST_INSTANT;
}

/** A write whose times a store will not keep: refused before anything is written. Its message names the field and the rule. */
export class TimeRangeError extends RangeError {
  constructor(field: string, value: unknown, rule: string, store: string) {
    super(`The ${store} refuses ${field} ${typeof value === 'number' ? value : JSON.stringify(value) ?? String(value)}: ${rule}.`);
    this.name = 'TimeRangeError';
  }
}

const INSTANT_RULE = `an instant is a whole number of ms from 0 to ${LATEST_INSTANT} (the end of the year 9999)`;
const SPAN_RULE = `a duration is a whole number of ms from 0 to ${LONGEST_SPAN_MS} (ten years)`;
const INSTANT_FIELDS = ['createdAt', 'updatedAt', 'expiresAt', 'leaseUntil'] as const;

/**
 * Refuses a write whose times a store would not keep, with `TimeRangeError`: every store calls it
 * on `create` (the intent), `update` (the change) and `claim` (the request) before writing. What
 * is stored must be sane: `leaseMs` a whole number from 0 to `LONGEST_SPAN_MS`, `unchangedBefore`
 * an instant (`isInstant`). A new intent's times are whole numbers, and since `create` keeps only
 * their distances from `createdAt` (`rebased`), those — the key TTL, and an owned intent's lease —
 * must be at most `LONGEST_SPAN_MS`, and reach back from now no further than 1970 (the process's
 * clock stands in for the store's, which is epoch ms too); an unowned one's `leaseUntil`, kept as
 * it is, must be an instant.
 */
export function checkTimes(write: Intent | IntentChange | ClaimRequest, store: string): void {
  const fields = write as Partial<Record<(typeof INSTANT_FIELDS)[number] | 'unchangedBefore' | 'leaseMs', unknown>>;
  if (fields.unchangedBefore !== undefined && !isInstant(fields.unchangedBefore)) throw new TimeRangeError('unchangedBefore', fields.unchangedBefore, INSTANT_RULE, store);
  const { leaseMs } = fields;
  if (leaseMs !== undefined && !isSpan(leaseMs, 0)) throw new TimeRangeError('leaseMs', leaseMs, SPAN_RULE, store);
  if (!('createdAt' in write) || !('fingerprint' in write)) return;
  const intent = write as Intent;
  for (const field of INSTANT_FIELDS) {
    if (!(typeof intent[field] === 'number' && Number.isSafeInteger(intent[field]))) throw new TimeRangeError(field, intent[field], 'a time is a whole number of ms', store);
  }
  // Counted from the store's now, a distance may reach back to 1970 (an intent written as already expired), never before.
  const earliest = -Date.now();
  const spans: [string, number | undefined][] = [
    ['the key TTL (expiresAt - createdAt)', intent.expiresAt - intent.createdAt],
    ['the lease (leaseUntil - createdAt)', intent.owner === null ? undefined : intent.leaseUntil - intent.createdAt],
  ];
  for (const [what, span] of spans) {
    if (span !== undefined && !isSpan(span, earliest)) throw new TimeRangeError(what, span, `at most ${LONGEST_SPAN_MS} ms (ten years), and not back before 1970 from now`, store);
  }
  if (intent.owner === null && !isInstant(intent.leaseUntil)) throw new TimeRangeError('leaseUntil', intent.leaseUntil, INSTANT_RULE, store);
}

function isSpan(value: unknown, least: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= least && value <= LONGEST_SPAN_MS;
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

/** `get` (or a `create` meeting it) found the record damaged: it is left as it is, for an operator. */
export class DamagedRecordError extends Error {
  readonly record: DamagedRecord;

  constructor(record: DamagedRecord) {
    super(`The journal's record of ${describeDamaged(record)} is damaged: ${record.reason}. It is left as it is: repair or delete it by hand.`);
    this.name = 'DamagedRecordError';
    this.record = record;
  }
}

/** How a damaged record is named in messages: its scope and id, when it has them as text. */
export function describeDamaged({ scope, id }: Pick<DamagedRecord, 'scope' | 'id'>): string {
  return id === undefined ? 'an intent with no readable id' : `intent "${id}"${scope === undefined ? '' : ` in scope "${scope}"`}`;
}

const TEXT_FIELDS = ['scope', 'id', 'idempotencyKey', 'method', 'url', 'origin', 'keyHeader', 'keyFormat', 'fingerprint', 'state'] as const;

/**
 * What is wrong with a record as a store's reader built it from a row (a summary, or a whole
 * intent when `whole`), in words that quote nothing of it; undefined when it reads as one. The
 * rule every store applies to what it reads: times `isInstant`, counts whole numbers, text
 * fields text, `owner` text or null; for a whole intent, headers a map of text, the body bytes,
 * a stored answer whole. A state this version does not know is no damage (a newer version's record).
 */
export function damageOf(record: unknown, whole = false): string | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return 'it is not a record';
  const r = record as Record<string, unknown>;
  for (const field of TEXT_FIELDS) if (typeof r[field] !== 'string') return `its ${field} is missing or not text`;
  if (r.owner !== null && typeof r.owner !== 'string') return 'its owner is neither text nor null';
  for (const field of INSTANT_FIELDS) {
    if (!isInstant(r[field])) return `its ${field} is ${Number.isFinite(r[field]) ? 'out of range' : 'missing or not a number'} (${INSTANT_RULE})`;
  }
  for (const field of ['attempts', 'version'] as const) {
    if (!(typeof r[field] === 'number' && Number.isSafeInteger(r[field]) && (r[field] as number) >= 0)) return `its ${field} is not a whole number`;
  }
  if (!whole) return undefined;
  if (!isTextMap(r.headers)) return 'its headers are not a map of text';
  if (r.body !== undefined && !(r.body instanceof Uint8Array)) return 'its body is not bytes';
  if (r.traceparent !== undefined && typeof r.traceparent !== 'string') return 'its traceparent is not text';
  const response = r.response as Partial<StoredResponse> | undefined;
  if (response !== undefined) {
    const whole = typeof response === 'object' && response !== null && Number.isInteger(response.status) && typeof response.statusText === 'string';
    if (!whole || !isTextMap(response.headers) || !(response.body instanceof Uint8Array)) return 'its stored answer is not whole';
  }
  return undefined;
}

function isTextMap(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((item) => typeof item === 'string');
}

/** The damaged record that `record` is, for `reason`: its scope and id kept where they are text. */
export function damagedRecord(record: unknown, reason: string): DamagedRecord {
  const r = (typeof record === 'object' && record !== null ? record : {}) as Record<string, unknown>;
  const damaged: DamagedRecord = { scope: typeof r.scope === 'string' ? r.scope : undefined, id: typeof r.id === 'string' ? r.id : undefined, reason };
  for (const field of ['idempotencyKey', 'method', 'url'] as const) if (typeof r[field] === 'string') damaged[field] = r[field];
  return damaged;
}

/**
 * What a store hands out of what its reader built from rows: the records that read as intents
 * (`damageOf`), in the order given, and a report to `onDamaged` of each that does not — the one
 * rule for damaged records, which every store's `list` applies (and its `claim`, without a
 * listener). A listener that throws changes nothing of the result.
 */
export function readRecords<T extends IntentSummary>(records: readonly unknown[], onDamaged: ((record: DamagedRecord) => void) | undefined, whole = false): T[] {
  const sound: T[] = [];
  for (const record of records) {
    const reason = damageOf(record, whole);
    if (reason === undefined) sound.push(record as T);
    else reportDamaged(onDamaged, damagedRecord(record, reason));
  }
  return sound;
}

/** Tells `onDamaged` of one damaged record; a listener that throws is ignored. */
export function reportDamaged(onDamaged: ((record: DamagedRecord) => void) | undefined, record: DamagedRecord): void {
  try {
    onDamaged?.(record);
  } catch {
    // A listener's failure must not turn a listing into an error.
  }
}

/** What `get` hands out of what its reader built from a row: the intent, or `DamagedRecordError`. */
export function readRecord(record: unknown): Intent {
  const reason = damageOf(record, true);
  if (reason !== undefined) throw new DamagedRecordError(damagedRecord(record, reason));
  return record as Intent;
}

/** The query as it may cross to a worker or process: without `onDamaged`, which only the caller's side can call. */
export function withoutListener(query: ListQuery): Omit<ListQuery, 'onDamaged'> {
  const { onDamaged: _onDamaged, ...rest } = query;
  return rest;
}
