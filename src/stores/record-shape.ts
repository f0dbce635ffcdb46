/**
 * What a store accepts and what it hands out, as code. Every time in a record is a whole number
 * of ms from 0 (1970) to `LATEST_INSTANT` (the end of the year 9999), and every duration a writer
 * gives (`leaseMs`, and a new intent's key TTL and lease) is a whole number of ms of at most
 * `LONGEST_SPAN_MS` (ten years): a store refuses a write with anything else (`checkTimes`,
 * `TimeRangeError`) before it writes anything. What a store reads back goes through one rule too
 * (`readRecords`): a row whose times are out of that range or not numbers, or whose fields have no
 * intent's shape (written by hand, by another program, or by a damaged file), is a damaged record
 * — left out of `list` and `claim`, told to the caller's `onDamaged`, never changed, compacted or
 * thrown for the whole listing; `get` of it rejects with `DamagedRecordError`.
 */
import type { ClaimRequest, DamagedRecord, Intent, IntentChange, IntentSummary, ListQuery, StoredResponse } from './store.ts';

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
export function recordDamageOf(record: unknown, whole = false): string | undefined {
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
 * (`recordDamageOf`), in the order given, and a report to `onDamaged` of each that does not — the one
 * rule for damaged records, which every store's `list` applies (and its `claim`, without a
 * listener). A listener that throws changes nothing of the result.
 */
export function readRecords<T extends IntentSummary>(records: readonly unknown[], onDamaged: ((record: DamagedRecord) => void) | undefined, whole = false): T[] {
  const sound: T[] = [];
  for (const record of records) {
    const reason = recordDamageOf(record, whole);
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
  const reason = recordDamageOf(record, true);
  if (reason !== undefined) throw new DamagedRecordError(damagedRecord(record, reason));
  return record as Intent;
}

/** The query as it may cross to a worker or process: without `onDamaged`, which only the caller's side can call. */
export function withoutListener(query: ListQuery): Omit<ListQuery, 'onDamaged'> {
  const { onDamaged: _onDamaged, ...rest } = query;
  return rest;
}
