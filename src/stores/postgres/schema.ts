import type pg from 'pg';
import { connectListening } from './connect.js';
import { DEFAULT_TABLE, type TableName, tableName } from './options.js';

/**
 * The SQL that creates the intents table, its indexes and its owners table, for teams that
 * migrate by hand (the store runs the same statements, all `IF NOT EXISTS`, on first use).
 *
 * Times are epoch ms in `bigint`; bodies and answers are `bytea`, header maps `jsonb`. `seq`
 * breaks `created_at` ties in insertion order. The claim index serves `claim` (scope, state,
 * lease ended, oldest first); the owned index holds only intents someone works on now (settled,
 * released and parked ones have no owner), so judging owners costs the same however many
 * intents are settled or parked; the expiry index serves compaction.
 *
 * `<table>_owners` has a row per enlisted owner (presence.ts): the generation it bumps each time
 * it takes its session lock again, whether it was released, and a claimant's first sight of its
 * lock missing (intent-table.ts says how they are read). On a large existing table, create the
 * owned index first with `CREATE INDEX CONCURRENTLY` under the same name, so the store's own
 * `IF NOT EXISTS` finds it and blocks no writes.
 *
 * @example
 * await client.query(postgresDdl('durable_fetch_intents', 'billing'));
 */
export function postgresDdl(table = DEFAULT_TABLE, schema?: string): string {
  return ddl(tableName(table, schema));
}

function ddl(table: TableName): string {
  return `
CREATE TABLE IF NOT EXISTS ${table.sql} (
  scope text NOT NULL,
  id text NOT NULL,
  idempotency_key text NOT NULL,
  method text NOT NULL,
  url text NOT NULL,
  origin text NOT NULL,
  headers jsonb NOT NULL,
  key_header text NOT NULL,
  key_format text NOT NULL,
  body bytea,
  fingerprint text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  attempts integer NOT NULL,
  state text NOT NULL,
  owner text,
  lease_until bigint NOT NULL,
  version integer NOT NULL,
  response_status integer,
  response_status_text text,
  response_headers jsonb,
  response_body bytea,
  traceparent text,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (scope, id)
);
CREATE INDEX IF NOT EXISTS ${table.index('claim')} ON ${table.sql} (scope, state, lease_until, created_at);
CREATE INDEX IF NOT EXISTS ${table.index('expiry')} ON ${table.sql} (expires_at);
CREATE INDEX IF NOT EXISTS ${table.index('owned')} ON ${table.sql} (owner) WHERE owner IS NOT NULL;
CREATE TABLE IF NOT EXISTS ${table.owners} (
  owner text PRIMARY KEY,
  generation bigint NOT NULL,
  released boolean NOT NULL DEFAULT false,
  locked_at bigint NOT NULL,
  locked_boot timestamptz NOT NULL,
  absent_since bigint,
  absent_generation bigint,
  absent_boot timestamptz
);
`;
}

/** Whether everything `ddl` makes is there: a store opening an older version's table adds what is missing. */
const COMPLETE = `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AND to_regclass($3) IS NOT NULL AS complete`;

/**
 * Creates the tables and indexes if missing. `IF NOT EXISTS` alone is not enough when several
 * processes open a new database at once (both may try to create the table's type and one fails),
 * so the DDL runs under a transaction-scoped advisory lock keyed by the table's name. A complete
 * set (the table, its owners table and the owned index, the last objects added) is left alone
 * without running it: `CREATE INDEX IF NOT EXISTS` locks the table before it looks, and would
 * wait behind every open transaction that has enqueued an intent.
 */
export async function ensureTable(pool: pg.Pool, table: TableName): Promise<void> {
  const { rows } = await pool.query(COMPLETE, [table.sql, table.owners, table.indexRef('owned')]);
  if (rows[0]?.complete) return;
  // A connection lost between statements fails the next one: nothing to do when it is lost.
  const ignore = () => {};
  const client = await connectListening(pool, ignore);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`durable-fetch:${table.text}`]);
    await client.query(ddl(table));
    await client.query('COMMIT');
    client.removeListener('error', ignore);
    client.release();
  } catch (error) {
    // A connection in a failed state is not handed to the next caller.
    client.removeListener('error', ignore);
    client.release(error as Error);
    throw error;
  }
}
