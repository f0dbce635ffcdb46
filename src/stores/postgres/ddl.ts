// The DDL as text. Nothing here imports `pg`, so `durable-fetch migrate` prints it where `pg` is
// not installed; schema.ts runs it.
import { DEFAULT_TABLE, type TableName, tableName } from './names.js';

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

/** The statements for a table already named and checked. */
export function ddl(table: TableName): string {
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
