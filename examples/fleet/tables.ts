/** The fleet example's business tables: a queue of payout requests and the payouts recorded. */
import type pg from 'pg';

export interface PayoutRequest {
  id: number;
  recipient: string;
  amount: number;
}

export async function createTables(pool: pg.Pool, count: number): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS payout_requests (id integer PRIMARY KEY, recipient text NOT NULL, amount integer NOT NULL, done boolean NOT NULL DEFAULT false);
    CREATE TABLE IF NOT EXISTS payouts (id integer PRIMARY KEY, recipient text NOT NULL, amount integer NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now());
    TRUNCATE payout_requests, payouts;`);
  await pool.query(
    `INSERT INTO payout_requests (id, recipient, amount) SELECT n, 'artist-' || n, 100 * n FROM generate_series(1, $1) AS n`,
    [count],
  );
}

/**
 * Inside the caller's transaction: takes the next request nobody else is taking (SKIP LOCKED),
 * marks it done and records its payout. A replica killed before COMMIT leaves it to the others.
 */
export async function takeRequest(client: pg.PoolClient): Promise<PayoutRequest | undefined> {
  const { rows } = await client.query<PayoutRequest>(
    'SELECT id, recipient, amount FROM payout_requests WHERE NOT done ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED',
  );
  const request = rows[0];
  if (request === undefined) return undefined;
  await client.query('UPDATE payout_requests SET done = true WHERE id = $1', [request.id]);
  await client.query('INSERT INTO payouts (id, recipient, amount) VALUES ($1, $2, $3)', [request.id, request.recipient, request.amount]);
  return request;
}
