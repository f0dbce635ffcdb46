import {
  type ClaimRequest,
  type Intent,
  type IntentChange,
  type IntentState,
  type IntentSummary,
  type ListQuery,
  isCompactable,
  isKnownState,
  rebased,
  UNSETTLED_STATES,
} from '../store.js';
import type { TableName } from './options.js';
import { INSERT_COLUMNS, SUMMARY_COLUMNS, changeColumns, insertValues, intentFromRow, summaryFromRow } from './rows.js';

/** What runs a statement: the store's pool, or the caller's client inside its own transaction. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}

/**
 * The database's clock in epoch ms, read when the statement runs: every instant a record holds is
 * on it, whatever the clocks of the processes sharing the table say (and however long a statement
 * waited for its connection).
 */
export const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** Every state this version knows; the compile fails here when one is added to `IntentState`. */
const KNOWN_STATES = Object.keys({ pending: 0, succeeded: 0, failed: 0, expired: 0 } satisfies Record<IntentState, 0>) as IntentState[];
/** The states `isCompactable` may drop (once past `expiresAt`): the rule stays in store.ts. */
const COMPACTABLE_STATES = KNOWN_STATES.filter((state) => isCompactable({ state, expiresAt: 0 }, 0));

/**
 * The contract in SQL, one statement per method, for one table. Unknown states (a newer
 * version's records) are kept out by passing only known states to every filter.
 *
 * Writes that may make an intent claimable elsewhere (an unowned create, a release) send
 * `pg_notify` in the same statement: inside a caller's transaction PostgreSQL delivers it on
 * commit, and never on rollback.
 */
export class IntentTable {
  readonly #table: TableName;
  readonly #insert: string;
  readonly #get: string;
  readonly #claim: string;
  readonly #list: string;
  readonly #compact: string;

  constructor(table: TableName) {
    this.#table = table;
    const t = table.sql;
    // Times arrive re-based on 0; the database's now is added here (an unowned lease stays as given).
    const rebasedOnNow: Partial<Record<(typeof INSERT_COLUMNS)[number], string>> = {
      created_at: 'clock.now + $', updated_at: 'clock.now + $', expires_at: 'clock.now + $',
      lease_until: `CASE WHEN $${INSERT_COLUMNS.indexOf('owner') + 1}::text IS NULL THEN 0 ELSE clock.now END + $`,
    };
    const values = INSERT_COLUMNS.map((column, i) => `${rebasedOnNow[column] ?? '$'}${i + 1}`).join(', ');
    const notify = `$${INSERT_COLUMNS.length + 1}::boolean`;
    const channel = `$${INSERT_COLUMNS.length + 2}::text`;
    this.#insert = `
      WITH clock AS (SELECT ${NOW_MS} AS now), inserted AS (
        INSERT INTO ${t} (${INSERT_COLUMNS.join(', ')}) SELECT ${values} FROM clock
        ON CONFLICT (scope, id) DO NOTHING RETURNING 1
      )
      SELECT CASE WHEN ${notify} THEN pg_notify(${channel}, '') END FROM inserted`;
    this.#get = `SELECT * FROM ${t} WHERE scope = $1 AND id = $2`;
    this.#claim = `
      WITH clock AS (SELECT ${NOW_MS} AS now)
      UPDATE ${t} SET owner = $1, lease_until = clock.now + $2, updated_at = clock.now, version = version + 1
      FROM clock
      WHERE (scope, id) IN (
        SELECT scope, id FROM ${t}, clock
        WHERE scope = $3 AND state = ANY($4::text[]) AND origin = ANY($5::text[]) AND lease_until <= clock.now
          AND ($7::text IS NULL OR id = $7) AND ($8::bigint IS NULL OR updated_at < $8) AND NOT (id = ANY($9::text[]))
        ORDER BY created_at, seq LIMIT GREATEST($6::integer, 0)
        FOR UPDATE SKIP LOCKED
      )
      RETURNING ${t}.*`;
    this.#list = `
      SELECT ${SUMMARY_COLUMNS} FROM ${t}
      WHERE ($1::text IS NULL OR scope = $1) AND state = ANY($2::text[])
      ORDER BY created_at, seq`;
    this.#compact = `DELETE FROM ${t} WHERE expires_at <= ${NOW_MS} AND state = ANY($1::text[])`;
  }

  async get(db: Queryable, scope: string, id: string): Promise<Intent | undefined> {
    const { rows } = await db.query(this.#get, [scope, id]);
    return rows[0] && intentFromRow(rows[0]);
  }

  /** Inserts at version 1 and resolves undefined, or resolves the existing intent untouched. */
  async create(db: Queryable, intent: Intent): Promise<Intent | undefined> {
    const announce = intent.owner === null;
    const { rowCount } = await db.query(this.#insert, [...insertValues(rebased(intent, 0)), announce, this.#table.text]);
    if (rowCount === 1) return undefined;
    const existing = await this.get(db, intent.scope, intent.id);
    if (!existing) throw new Error(`intent ${intent.id} in scope ${intent.scope} conflicted on insert but cannot be read back`);
    return existing;
  }

  /** Compare-and-set on `version`; a release that leaves the intent to be sent announces itself. */
  async update(db: Queryable, scope: string, id: string, version: number, change: IntentChange): Promise<number | undefined> {
    const { columns, values, leaseMs } = changeColumns(change);
    const sets = [...columns.map((column, i) => `${column} = $${i + 4}`), `updated_at = ${NOW_MS}`, 'version = version + 1'];
    if (leaseMs !== undefined) sets.push(`lease_until = ${NOW_MS} + $${columns.length + 4}::bigint`);
    const extra = leaseMs === undefined ? [] : [leaseMs];
    const released = change.owner === null && (change.state === undefined || UNSETTLED_STATES.includes(change.state));
    const announce = released ? `, pg_notify($${columns.length + extra.length + 4}::text, '')` : '';
    const text = `
      WITH updated AS (UPDATE ${this.#table.sql} SET ${sets.join(', ')} WHERE scope = $1 AND id = $2 AND version = $3 RETURNING version)
      SELECT version${announce} FROM updated`;
    const params = [scope, id, version, ...values, ...extra, ...(announce ? [this.#table.text] : [])];
    const { rows } = await db.query(text, params);
    return rows[0]?.version;
  }

  /** One statement: the oldest claimable rows, locked (skipping rows another claimant holds), taken. */
  async claim(db: Queryable, request: ClaimRequest): Promise<Intent[]> {
    const states = request.states.filter(isKnownState);
    const { rows } = await db.query(this.#claim, [
      request.owner, request.leaseMs, request.scope, states, request.origins, request.limit, request.id ?? null, request.unchangedBefore ?? null, request.excluding ?? [],
    ]);
    // RETURNING keeps no order; the rows' own createdAt (then insertion order) gives it back.
    return rows
      .sort((a, b) => Number(a.created_at) - Number(b.created_at) || Number(a.seq) - Number(b.seq))
      .map(intentFromRow);
  }

  async list(db: Queryable, query: ListQuery = {}): Promise<IntentSummary[]> {
    const states = (query.states ?? KNOWN_STATES).filter(isKnownState);
    const { rows } = await db.query(this.#list, [query.scope ?? null, states]);
    return rows.map(summaryFromRow);
  }

  async compact(db: Queryable): Promise<number> {
    const { rowCount } = await db.query(this.#compact, [COMPACTABLE_STATES]);
    return rowCount ?? 0;
  }
}
