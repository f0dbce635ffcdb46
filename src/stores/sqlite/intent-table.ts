import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  type ClaimRequest,
  type Intent,
  type IntentChange,
  type IntentSummary,
  type ListQuery,
  isCompactable,
  isKnownState,
} from '../store.ts';
import { SUMMARY_COLUMNS, changeParams, intentFromRow, intentParams, summaryFromRow } from './rows.ts';

/**
 * The store's questions in SQL, over one open connection. Transactions are the caller's
 * business (the worker's group commit); each method is one atomic step inside one.
 *
 * The contract's rules stay in store.ts: `isKnownState` and `isCompactable` are registered as SQL
 * functions rather than restated as SQL, so a newer version's states are left alone here exactly
 * as the memory store leaves them. Claiming is `isClaimable` in SQL, shaped for the claim index.
 */
export class IntentTable {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #insert: StatementSync;
  readonly #claimable: StatementSync;
  readonly #take: StatementSync;
  readonly #list: StatementSync;
  readonly #compact: StatementSync;
  readonly #updates = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
    db.function('is_known_state', { deterministic: true }, (state) => Number(isKnownState(String(state))));
    db.function('is_compactable', { deterministic: true }, (state, expiresAt, now) =>
      Number(isCompactable({ state: String(state) as Intent['state'], expiresAt: Number(expiresAt) }, Number(now))),
    );
    this.#get = db.prepare('SELECT * FROM intents WHERE scope = :scope AND id = :id');
    this.#insert = db.prepare(`
      INSERT INTO intents (scope, id, idempotencyKey, method, url, origin, headers, keyHeader, keyFormat, body,
        fingerprint, createdAt, updatedAt, expiresAt, attempts, state, owner, leaseUntil, version,
        responseStatus, responseStatusText, responseHeaders, responseBody, traceparent)
      VALUES (:scope, :id, :idempotencyKey, :method, :url, :origin, :headers, :keyHeader, :keyFormat, :body,
        :fingerprint, :createdAt, :updatedAt, :expiresAt, :attempts, :state, :owner, :leaseUntil, 1,
        :responseStatus, :responseStatusText, :responseHeaders, :responseBody, :traceparent)
      ON CONFLICT (scope, id) DO NOTHING`);
    this.#claimable = db.prepare(`
      SELECT * FROM intents
      WHERE scope = :scope AND state IN (SELECT value FROM json_each(:states)) AND is_known_state(state)
        AND leaseUntil <= :now AND origin IN (SELECT value FROM json_each(:origins))
      ORDER BY createdAt, rowid LIMIT max(:limit, 0)`);
    this.#take = db.prepare(`
      UPDATE intents SET owner = :owner, leaseUntil = :leaseUntil, version = version + 1
      WHERE scope = :scope AND id = :id RETURNING version`);
    this.#list = db.prepare(`
      SELECT ${SUMMARY_COLUMNS} FROM intents
      WHERE (:scope IS NULL OR scope = :scope) AND is_known_state(state)
        AND (:states IS NULL OR state IN (SELECT value FROM json_each(:states)))
      ORDER BY createdAt, rowid`);
    // The expiry index narrows the scan; the registered rule decides.
    this.#compact = db.prepare('DELETE FROM intents WHERE expiresAt <= :now AND is_compactable(state, expiresAt, :now)');
  }

  get(scope: string, id: string): Intent | undefined {
    const row = this.#get.get({ scope, id });
    return row && intentFromRow(row);
  }

  /** Inserts at version 1, or returns the existing intent untouched. */
  create(intent: Intent): Intent | undefined {
    if (this.#insert.run(intentParams(intent)).changes === 1) return undefined;
    return this.get(intent.scope, intent.id);
  }

  /** Compare-and-set on `version`; resolves the new version, or undefined when it lost. */
  update(scope: string, id: string, version: number, change: IntentChange): number | undefined {
    const params = changeParams(change);
    const row = this.#updateStatement(Object.keys(params)).get({ ...params, scope, id, version });
    return row ? Number(row.version) : undefined;
  }

  /** Selects and takes the claimable intents; atomic because the caller holds the write lock. */
  claim(request: ClaimRequest): Intent[] {
    const rows = this.#claimable.all({
      scope: request.scope,
      states: JSON.stringify(request.states),
      origins: JSON.stringify(request.origins),
      now: request.now,
      limit: request.limit,
    });
    return rows.map((row) => {
      const intent = intentFromRow(row);
      const taken = this.#take.get({ owner: request.owner, leaseUntil: request.leaseUntil, scope: intent.scope, id: intent.id });
      return { ...intent, owner: request.owner, leaseUntil: request.leaseUntil, version: Number(taken?.version) };
    });
  }

  list(query: ListQuery = {}): IntentSummary[] {
    const states = query.states ? JSON.stringify(query.states) : null;
    return this.#list.all({ scope: query.scope ?? null, states }).map(summaryFromRow);
  }

  compact(now: number): number {
    return Number(this.#compact.run({ now }).changes);
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
