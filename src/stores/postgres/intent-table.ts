import {
  type ClaimRequest,
  type Intent,
  type IntentChange,
  type IntentState,
  type IntentSummary,
  type ListQuery,
  recordDamageOf,
  isCompactable,
  isKnownState,
  LATEST_INSTANT,
  readRecord,
  readRecords,
  rebased,
  UNSETTLED_STATES,
} from '../store.js';
import type { TableName } from './names.js';
import { PRESENCE_APPLICATION } from './options.js';
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

/** The advisory lock key of an owner id given as SQL text: one 64-bit key per owner, in the database's own hash (presence.ts holds them). */
export const lockKey = (owner: string): string => `hashtextextended(${owner}, 0)`;

/**
 * store.ts's reading rule, the part a typed row can break, in SQL over the table aliased `i`:
 * times within range (a `bigint` holds far more), counts not negative, headers a JSON object.
 * Claims and compaction pass over any other row, so a damaged one is never taken, changed or
 * deleted, and never holds a place in a claim's limit; `list` leaves it out and tells of it.
 */
const READABLE = (i: string) =>
  `${['created_at', 'updated_at', 'expires_at', 'lease_until'].map((column) => `${i}.${column} BETWEEN 0 AND ${LATEST_INSTANT}`).join(' AND ')}
        AND ${i}.attempts >= 0 AND ${i}.version >= 0 AND jsonb_typeof(${i}.headers) = 'object'`;

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
  readonly #sweep: string;

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
    this.#claim = claimStatement(table);
    this.#sweep = sweepStatement(table);
    this.#list = `
      SELECT ${SUMMARY_COLUMNS} FROM ${t}
      WHERE ($1::text IS NULL OR scope = $1) AND state = ANY($2::text[])
      ORDER BY created_at, seq`;
    // Owners' rows go once nothing refers to them and they are released or not there (a live
    // owner reconnecting just then writes its row again as it relocks).
    this.#compact = `
      WITH deleted AS (DELETE FROM ${t} i WHERE i.expires_at <= ${NOW_MS} AND i.state = ANY($1::text[]) AND ${READABLE('i')} RETURNING 1),
      held AS MATERIALIZED (${HELD_LOCKS}),
      forgotten AS (
        DELETE FROM ${table.owners} o
        WHERE (o.released OR NOT EXISTS (SELECT 1 FROM held WHERE held.key = ${lockKey('o.owner')}))
          AND NOT EXISTS (SELECT 1 FROM ${t} i WHERE i.owner = o.owner)
      )
      SELECT count(*)::integer AS deleted FROM deleted`;
  }

  async get(db: Queryable, scope: string, id: string): Promise<Intent | undefined> {
    const { rows } = await db.query(this.#get, [scope, id]);
    return rows[0] && readRecord(intentFromRow(rows[0]));
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

  /**
   * One statement: the oldest claimable rows, locked (skipping rows another claimant holds),
   * taken; `wakeInMs` says when an owner seen missing may be judged gone (none: undefined).
   */
  async claim(db: Queryable, request: ClaimRequest, livenessGraceMs: number): Promise<{ intents: Intent[]; wakeInMs: number | undefined }> {
    const states = request.states.filter(isKnownState);
    const { rows } = await db.query(this.#claim, [
      request.owner, request.leaseMs, request.scope, states, request.origins, request.limit, request.id ?? null, request.unchangedBefore ?? null,
      livenessGraceMs, PRESENCE_APPLICATION, request.excluding ?? [],
    ]);
    const wakeIn = rows[0]?.wake_in;
    // RETURNING keeps no order; the rows' own createdAt (then insertion order) gives it back.
    const intents = rows
      .filter((row) => row.scope !== null)
      .sort((a, b) => Number(a.created_at) - Number(b.created_at) || Number(a.seq) - Number(b.seq))
      .map(intentFromRow)
      // What SQL cannot judge (a header of no text, say): such a row was taken, and is handed to nobody.
      .filter((intent) => recordDamageOf(intent, true) === undefined);
    return { intents, wakeInMs: wakeIn === null || wakeIn === undefined ? undefined : Math.max(0, Number(wakeIn)) };
  }

  /** Looks for owners gone (writing sightings): which are gone now, and when the next one seen missing may be. */
  async sweep(db: Queryable, livenessGraceMs: number): Promise<{ gone: string[]; wakeInMs: number | undefined }> {
    const { rows } = await db.query(this.#sweep, [livenessGraceMs, PRESENCE_APPLICATION]);
    const wakeIn = rows[0]?.wake_in;
    return { gone: rows[0]?.owners ?? [], wakeInMs: wakeIn === null || wakeIn === undefined ? undefined : Math.max(0, Number(wakeIn)) };
  }

  async list(db: Queryable, query: ListQuery = {}): Promise<IntentSummary[]> {
    const states = (query.states ?? KNOWN_STATES).filter(isKnownState);
    const { rows } = await db.query(this.#list, [query.scope ?? null, states]);
    return readRecords(rows.map(summaryFromRow), query.onDamaged);
  }

  async compact(db: Queryable): Promise<number> {
    const { rows } = await db.query(this.#compact, [COMPACTABLE_STATES]);
    return rows[0]?.deleted ?? 0;
  }
}

/** The advisory locks held in this database, each as the 64-bit key it was taken with (`lockKey`). */
const HELD_LOCKS = `
  SELECT (l.classid::bigint << 32) | l.objid::bigint AS key FROM pg_locks l
  WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/**
 * The claim, in one statement. An intent may be taken when:
 *
 * - **its lease has ended** on the database's clock (`lease_until <= now`) — with the restart
 *   guard: a lease last written before PostgreSQL started (`pg_postmaster_start_time()`) ended
 *   while its owner could not renew it, so it is taken only once the database has been up for
 *   the longer of the claimant's `leaseMs` and the lease's own length. Live owners get one whole
 *   lease to renew after a restart; an owner whose request is still open is never overtaken
 *   because the database was down;
 * - **or its owner is gone**: the owner released itself (its client closed), or its lock
 *   (presence.ts) has been missing without a break for `livenessGraceMs`. "Without a break" is
 *   read off two sightings: the first claim to see the lock missing writes down when, at which
 *   generation, and in which run of the server (`absent_since`, `absent_generation`,
 *   `absent_boot`); a claim at least the grace later that finds the lock still missing and the
 *   generation unchanged — the owner never took its lock again in between, however briefly —
 *   and the server not restarted, takes the owner for dead. A killed connection or a restart
 *   is thus no death: the owner relocks (bumping the generation) well within the grace. The
 *   restart guard holds here too: for an owner that last locked before the server started, the
 *   grace counts only from when the server has been up for the claimant's `leaseMs`, so a live
 *   owner has a lease and a grace to come back after a restart.
 *
 *   One more condition: the absence must be vouched for by a presence session (any store's,
 *   `application_name` 'durable-fetch presence') that was up a grace before the absence was
 *   first seen and is up still. A process that dies ends its own sessions; an event that ends
 *   sessions all around (`pg_terminate_backend` in a loop, a failover, the network at the
 *   database) ends the witnesses too, and while it lasts nobody is judged — however slow
 *   reconnecting is then. An absence that no session outlived is seen afresh (a new sighting)
 *   once its grace is over, so owners are judged again soon after such an event ends. Sessions
 *   of other roles show no `backend_start` to a role without `pg_read_all_stats`, and do not
 *   vouch.
 *
 * The owners judged are only those of intents someone owns (the owned index), and `pg_locks` is
 * read only when there are some. The generations are read in the statement's snapshot, before
 * `pg_locks` is: a relock that committed by then shows its lock. A sighting is written with
 * SKIP LOCKED, re-checked against the row as it is, so it never waits (no deadlock between
 * claimants) and never records a generation it did not see. Nothing here waits for another
 * claimant either: intents are locked with SKIP LOCKED.
 *
 * Besides the intents taken (none: one row of NULLs), every row carries `wake_in`: the ms until
 * the first owner seen missing may be judged gone, so the store can wake its watchers then.
 */
function claimStatement(table: TableName): string {
  const t = table.sql;
  const candidates = `
      SELECT DISTINCT owner FROM ${t}
      WHERE owner IS NOT NULL AND scope = $3 AND state = ANY($4::text[]) AND origin = ANY($5::text[])
        AND ($7::text IS NULL OR id = $7) AND ($8::bigint IS NULL OR updated_at < $8)`;
  return `
    WITH ${CLOCK},
    ${liveness(table, candidates, { leaseMs: '$2::bigint', graceMs: '$9::bigint', presence: '$10' })},
    taken AS (
      SELECT i.scope, i.id FROM ${t} i CROSS JOIN clock CROSS JOIN gone
      WHERE i.scope = $3 AND i.state = ANY($4::text[]) AND i.origin = ANY($5::text[])
        AND ($7::text IS NULL OR i.id = $7) AND ($8::bigint IS NULL OR i.updated_at < $8) AND NOT (i.id = ANY($11::text[]))
        AND ${READABLE('i')}
        AND (
          (i.lease_until <= clock.now AND (i.owner IS NULL OR i.updated_at >= clock.boot_ms
            OR clock.now >= clock.boot_ms + GREATEST($2::bigint, i.lease_until - i.updated_at)))
          OR i.owner = ANY(gone.owners)
        )
      ORDER BY i.created_at, i.seq LIMIT GREATEST($6::integer, 0)
      FOR UPDATE OF i SKIP LOCKED
    ),
    claimed AS (
      UPDATE ${t} SET owner = $1, lease_until = clock.now + $2::bigint, updated_at = clock.now, version = ${t}.version + 1
      FROM clock WHERE (${t}.scope, ${t}.id) IN (SELECT scope, id FROM taken)
      RETURNING ${t}.*
    )
    SELECT claimed.*, waiting.wake_in FROM waiting LEFT JOIN claimed ON true`;
}

/** The database's clock and the current run of the server, as the statements read them. */
const CLOCK = `clock AS (
      SELECT ${NOW_MS} AS now, pg_postmaster_start_time() AS boot,
        (extract(epoch from pg_postmaster_start_time()) * 1000)::bigint AS boot_ms
    )`;

/**
 * The owners judged, as CTEs after `clock`: `candidates` (a query of owner ids), then
 * `gone` (the array of owners gone now), `sighting` (the sightings written) and `waiting`
 * (ms until the next owner seen missing may be judged). `leaseMs` is the claimant's lease (the
 * restart guard), `graceMs` the grace, `presence` the presence sessions' application_name.
 */
function liveness(table: TableName, candidates: string, { leaseMs, graceMs, presence }: { leaseMs: string; graceMs: string; presence: string }): string {
  const o = table.owners;
  return `candidates AS (${candidates}
    ),
    held AS MATERIALIZED (${HELD_LOCKS} AND EXISTS (SELECT 1 FROM candidates)),
    seen AS (
      SELECT o.owner, o.generation, o.released, o.absent_since, o.absent_generation, o.absent_boot,
        NOT EXISTS (SELECT 1 FROM held WHERE held.key = ${lockKey('o.owner')}) AS absent,
        coalesce(o.absent_generation = o.generation AND o.absent_boot = clock.boot, false) AS sighted,
        o.locked_boot = clock.boot AS locked_since_boot
      FROM ${o} o JOIN candidates c ON c.owner = o.owner CROSS JOIN clock
    ),
    matured AS (
      SELECT seen.*, absent AND sighted AND absent_since <= clock.now - ${graceMs} AS matured FROM seen CROSS JOIN clock
    ),
    vouched AS (
      SELECT matured.*, CASE WHEN matured THEN EXISTS (
        SELECT 1 FROM pg_stat_activity a
        WHERE a.application_name = ${presence} AND a.backend_start <= to_timestamp((matured.absent_since - ${graceMs}) / 1000.0)
      ) ELSE false END AS vouched
      FROM matured
    ),
    judged AS (
      SELECT vouched.*,
        released OR (vouched AND (locked_since_boot OR clock.now >= clock.boot_ms + ${leaseMs} + ${graceMs})) AS gone,
        absent AND NOT released AND (NOT sighted OR (matured AND NOT vouched)) AS resight
      FROM vouched CROSS JOIN clock
    ),
    gone AS (SELECT coalesce(array_agg(owner), '{}') AS owners FROM judged WHERE gone),
    sighting AS (
      UPDATE ${o} SET absent_since = clock.now, absent_generation = j.generation, absent_boot = clock.boot
      FROM judged j CROSS JOIN clock
      WHERE ${o}.owner = j.owner AND ${o}.owner IN (
        SELECT r.owner FROM ${o} r JOIN judged s ON s.owner = r.owner
        WHERE s.resight AND NOT r.released AND r.generation = s.generation
          AND r.absent_since IS NOT DISTINCT FROM s.absent_since
          AND r.absent_generation IS NOT DISTINCT FROM s.absent_generation
          AND r.absent_boot IS NOT DISTINCT FROM s.absent_boot
        FOR UPDATE OF r SKIP LOCKED
      )
    ),
    waiting AS (
      SELECT min(GREATEST(CASE WHEN resight THEN clock.now ELSE absent_since END + ${graceMs},
                          CASE WHEN locked_since_boot THEN 0 ELSE clock.boot_ms + ${leaseMs} + ${graceMs} END) - clock.now) AS wake_in
      FROM judged CROSS JOIN clock WHERE absent AND NOT gone
    )`;
}

/**
 * The liveness part of a claim alone, over every owner of an intent in the table: sightings
 * written, and which owners are gone now and when the next may be. A store whose relay waits
 * runs it now and then, so an owner's death is first seen within a fraction of the grace rather
 * than at the relay's next poll. The restart guard is left to the claims (no lease given here).
 */
function sweepStatement(table: TableName): string {
  return `
    WITH ${CLOCK},
    ${liveness(table, `SELECT DISTINCT owner FROM ${table.sql} WHERE owner IS NOT NULL`, { leaseMs: '0', graceMs: '$1::bigint', presence: '$2' })}
    SELECT waiting.wake_in, gone.owners FROM waiting CROSS JOIN gone`;
}
