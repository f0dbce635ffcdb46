import type pg from 'pg';

/**
 * A connection out of the pool, with `onError` listening before anyone else can run. A pool's
 * connection, once handed out, has no 'error' listener of the pool's, and node-postgres emits
 * 'error' for a message the server sends while no query runs: a connection the server ends just
 * as it is handed out (`pg_terminate_backend`, a restart) may have both messages in one read, the
 * end parsed right after the hand-over, before a caller awaiting `pool.connect()` resumes — and
 * an 'error' with no listener ends the process. The callback form runs inside that parse.
 */
export function connectListening(pool: pg.Pool, onError: (error: Error) => void): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) => {
    pool.connect((error, client) => {
      if (error || client === undefined) return reject(error ?? new Error('no connection'));
      client.on('error', onError);
      resolve(client);
    });
  });
}
