import type pg from 'pg';
import { connectListening } from './connect.js';
import { ddl } from './ddl.js';
import type { TableName } from './names.js';

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
