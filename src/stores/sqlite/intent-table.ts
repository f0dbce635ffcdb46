import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  type ClaimRequest,
  type Intent,
  type IntentChange,
  type IntentSummary,
  type ListQuery,
  recordDamageOf,
  isCompactable,
  isKnownState,
  readRecord,
  readRecords,
  rebased,
} from '../store.ts';
import { ownerProcess } from './host.ts';
import { SUMMARY_COLUMNS, changeParams, intentFromRow, intentParams, summaryFromRow } from './rows.ts';
import type { Clock } from './schema.ts';

const SUMMARY_NAMES = SUMMARY_COLUMNS.split(', ');
/** store.ts's reading rule in SQL: the summary columns through `recordDamageOf`, and JSON that parses where JSON is kept. */
const READABLE = `is_readable(${SUMMARY_COLUMNS}) AND json_valid(headers) AND (responseHeaders IS NULL OR json_valid(responseHeaders))`;

/**
 * The store's questions in SQL, over one open connection. Transactions are the caller's
 * business (the worker's group commit); each method is one atomic step inside one.
 *
 * The contract's rules stay in store.ts and host.ts: `isKnownState`, `isCompactable` and
 * `ownerProcess` are registered as SQL functions rather than restated as SQL, so a newer
 * version's states are left alone here exactly as the memory store leaves them. Every instant
 * is read off `clock`, the host clock the file's processes share (host.ts). An intent whose
 * owner's process is gone is claimable at once; one whose owner's process is running, never.
 *
 * Rows are read through store.ts's rule for damaged records: `list` leaves them out and tells of
 * them; claims and compaction pass over them in SQL (`is_readable`, the same rule), so a damaged
 * row never holds a place in a claim's limit and is never taken, changed or deleted.
 */
export class IntentTable {
  readonly #db: DatabaseSync;
  readonly #clock: Clock;
  readonly #get: StatementSync;
  readonly #insert: StatementSync;
  readonly #claimable: StatementSync;
  readonly #claimableById: StatementSync;
  readonly #take: StatementSync;
  readonly #list: StatementSync;
  readonly #compact: StatementSync;
  readonly #updates = new Map<string, StatementSync>();

  constructor(db: DatabaseSync, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
    db.function('is_known_state', { deterministic: true }, (state) => Number(isKnownState(String(state))));
    db.function('is_compactable', { deterministic: true, useBigIntArguments: true }, (state, expiresAt, now) =>
      Number(isCompactable({ state: String(state) as Intent['state'], expiresAt: Number(expiresAt) }, Number(now))),
    );
    db.function('is_readable', { deterministic: true, useBigIntArguments: true, varargs: true }, (...values) =>
      Number(recordDamageOf(summaryFromRow(Object.fromEntries(SUMMARY_NAMES.map((name, i) => [name, values[i]])))) === undefined),
    );
    db.function('owner_process', (owner) => (owner === null ? 'none' : ownerProcess(String(owner))));
    this.#get = db.prepare('SELECT * FROM intents WHERE scope = :scope AND id = :id');
    this.#insert = db.prepare(`
      INSERT INTO intents (scope, id, idempotencyKey, method, url, origin, headers, keyHeader, keyFormat, body,
        fingerprint, createdAt, updatedAt, expiresAt, attempts, state, owner, leaseUntil, version,
        responseStatus, responseStatusText, responseHeaders, responseBody, traceparent)
      VALUES (:scope, :id, :idempotencyKey, :method, :url, :origin, :headers, :keyHeader, :keyFormat, :body,
        :fingerprint, :createdAt, :updatedAt, :expiresAt, :attempts, :state, :owner, :leaseUntil, 1,
        :responseStatus, :responseStatusText, :responseHeaders, :responseBody, :traceparent)
      ON CONFLICT (scope, id) DO NOTHING`);
    // Ended leases through the claim index; dead owners among the owned intents alone (the owned
    // index), so parked and settled intents, however many, are never looked at for them.
    const filters = `
      is_known_state(state) AND ${READABLE} AND origin IN (SELECT value FROM json_each(:origins))
      AND (:before IS NULL OR updatedAt < :before)
      AND id NOT IN (SELECT value FROM json_each(:excluding))`;
    this.#claimable = db.prepare(`
      SELECT rowid AS takeRowid, * FROM intents WHERE rowid IN (
        SELECT rowid FROM intents WHERE scope = :scope AND state IN (SELECT value FROM json_each(:states)) AND leaseUntil <= :now
          AND owner_process(owner) <> 'running'
        UNION
        SELECT rowid FROM intents WHERE scope = :scope AND owner IS NOT NULL AND leaseUntil > :now
          AND state IN (SELECT value FROM json_each(:states)) AND owner_process(owner) = 'gone'
      ) AND ${filters}
      ORDER BY createdAt, rowid LIMIT max(:limit, 0)`);
    this.#claimableById = db.prepare(`
      SELECT rowid AS takeRowid, * FROM intents WHERE scope = :scope AND id = :id AND state IN (SELECT value FROM json_each(:states))
        AND ((leaseUntil <= :now AND owner_process(owner) <> 'running') OR owner_process(owner) = 'gone') AND ${filters}
      LIMIT max(:limit, 0)`);
    this.#take = db.prepare(`
      UPDATE intents SET owner = :owner, leaseUntil = :leaseUntil, updatedAt = :now, version = version + 1
      WHERE rowid = :rowid RETURNING version`);
    this.#list = db.prepare(`
      SELECT ${SUMMARY_COLUMNS} FROM intents
      WHERE (:scope IS NULL OR scope = :scope) AND is_known_state(state)
        AND (:states IS NULL OR state IN (SELECT value FROM json_each(:states)))
      ORDER BY createdAt, rowid`);
    // The expiry index narrows the scan; the registered rule decides.
    this.#compact = db.prepare(`DELETE FROM intents WHERE expiresAt <= :now AND ${READABLE} AND is_compactable(state, expiresAt, :now)`);
    // node:sqlite fails a whole statement on one integer beyond 2^53 read as a number: these read BigInts (rows.ts).
    for (const reads of [this.#get, this.#claimable, this.#claimableById, this.#list]) reads.setReadBigInts(true);
  }

  get(scope: string, id: string): Intent | undefined {
    const row = this.#get.get({ scope, id });
    return row && readRecord(intentFromRow(row));
  }

  /** Inserts at version 1, its times on the host clock, or returns the existing intent untouched. */
  create(intent: Intent): Intent | undefined {
    if (this.#insert.run(intentParams(rebased(intent, this.#clock()))).changes === 1) return undefined;
    return this.get(intent.scope, intent.id);
  }

  /** Compare-and-set on `version`; resolves the new version, or undefined when it lost. */
  update(scope: string, id: string, version: number, change: IntentChange): number | undefined {
    const params = changeParams(change, this.#clock());
    const row = this.#updateStatement(Object.keys(params)).get({ ...params, scope, id, version });
    return row ? Number(row.version) : undefined;
  }

  /** Selects and takes the claimable intents; atomic because the caller holds the write lock. */
  claim(request: ClaimRequest): Intent[] {
    const now = this.#clock();
    const select = request.id === undefined ? this.#claimable : this.#claimableById;
    const rows = select.all({
      scope: request.scope,
      ...(request.id === undefined ? {} : { id: request.id }),
      states: JSON.stringify(request.states),
      origins: JSON.stringify(request.origins),
      before: request.unchangedBefore ?? null,
      excluding: JSON.stringify(request.excluding ?? []),
      now,
      limit: request.limit,
    });
    const leaseUntil = now + request.leaseMs;
    // Taken by the row selected, not by its id read back: an id whose bytes are no UTF-8 (a damaged
    // file) would not find its row again, and the row would come back, untaken, on every claim.
    const taken: Intent[] = [];
    for (const { takeRowid, ...row } of rows) {
      const intent = intentFromRow(row);
      // Its summary was judged in SQL; what else a row holds, here. A damaged one is left untaken.
      if (recordDamageOf(intent, true) !== undefined) continue;
      const took = this.#take.get({ owner: request.owner, leaseUntil, now, rowid: takeRowid as number });
      taken.push({ ...intent, owner: request.owner, leaseUntil, updatedAt: now, version: Number(took?.version) });
    }
    return taken;
  }

  list(query: ListQuery = {}): IntentSummary[] {
    const states = query.states ? JSON.stringify(query.states) : null;
    return readRecords(this.#list.all({ scope: query.scope ?? null, states }).map(summaryFromRow), query.onDamaged);
  }

  compact(): number {
    return Number(this.#compact.run({ now: this.#clock() }).changes);
  }

  /** The UPDATE for one set of changed columns, prepared once: a client changes a few shapes only. */
  #updateStatement(columns: string[]): StatementSync {
    const shape = columns.join();
    let statement = this.#updates.get(shape);
    if (!statement) {
      const sets = [...columns.map((column) => `${column} = :${column}`), 'version = version + 1'];
      statement = this.#db.prepare(
        `UPDATE intents SET ${sets.join(', ')} WHERE scope = :scope AND id = :id AND version = :version RETURNING version`,
      );
      this.#updates.set(shape, statement);
    }
    return statement;
  }
}
