import { resolve } from 'node:path';
import { SqliteConnection } from './connection.js';
import type { NormalizedSqliteOptions } from './options.js';

interface Shared {
  connection: Promise<SqliteConnection>;
  users: number;
}

/**
 * One connection (one worker) per database file per process, shared by every store opened on it:
 * group commit then batches all of the process's writes to that file, and two stores never fight
 * over its write lock. Counted by users; the last one to let go closes it.
 *
 * An entry outlives its worker: a worker that dies is replaced inside the connection on the next
 * request (connection.ts), so the stores already holding the entry and any opened later recover
 * alike. Dropping the entry instead would have left the stores already opened on a dead
 * connection, and let two connections of one process on one file exist at once.
 */
const shared = new Map<string, Shared>();

/**
 * A use of the connection to `path`, opening it if this process has none. The first opener's
 * `busyTimeoutMs` and `compactEvery` hold for everyone sharing it.
 */
export function acquireConnection(path: string, options: NormalizedSqliteOptions): { path: string; connection: Promise<SqliteConnection> } {
  const absolute = resolve(path);
  let entry = shared.get(absolute);
  if (!entry) {
    const connection = open(absolute, options);
    const opened: Shared = { connection, users: 0 };
    // A failed open is not kept: the next store on this path tries again (after a `chmod 700`, say).
    connection.catch(() => shared.get(absolute) === opened && shared.delete(absolute));
    shared.set(absolute, (entry = opened));
  }
  entry.users++;
  return { path: absolute, connection: entry.connection };
}

/** Gives back one use; closes the connection when it was the last. */
export async function releaseConnection(path: string, connection: Promise<SqliteConnection>): Promise<void> {
  const entry = shared.get(path);
  if (entry?.connection === connection && --entry.users > 0) return;
  if (entry?.connection === connection) shared.delete(path);
  const opened = await connection.catch(() => undefined);
  await opened?.close();
}

/** Diagnostic: how many database connections (worker threads) this process has open or opening. */
export function sqliteConnectionCount(): number {
  return shared.size;
}

/** For tests: the connection this process has open on `path` (absolute), if any. */
export function sharedConnection(path: string): Promise<SqliteConnection> | undefined {
  return shared.get(path)?.connection;
}

function open(path: string, options: NormalizedSqliteOptions): Promise<SqliteConnection> {
  return SqliteConnection.open({ path, busyTimeoutMs: options.busyTimeoutMs, compactEvery: options.compactEvery });
}
