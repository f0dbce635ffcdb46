/**
 * The local durable store for Node: intents in one SQLite file (node:sqlite), written by a worker
 * thread with group commit, shared by every store and client of the process that opens the file,
 * and safe to share between processes.
 *
 * Design notes by file, in sqlite/: files.ts (0700/0600 permissions, paths that are no regular
 * file), schema.ts (layout, pragmas, versioning), intent-table.ts (the contract in SQL), batch.ts
 * (group commit), journal-files.ts (the file, -wal and -shm deleted or replaced while open),
 * worker.ts, connection.ts (a dead worker replaced) and registry.ts (one worker per file per
 * process), exec-argv.ts (the flags a worker starts with), host.ts (the host clock, owners a
 * claimant can see die).
 */
import { normalizeSqliteOptions, type SqliteStoreOptions } from './sqlite/options.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

export type { SqliteStats } from './sqlite/messages.js';
export type { SqliteStoreOptions } from './sqlite/options.js';
export { openSqliteReadOnly, type SqliteReader } from './sqlite/read-only.js';
export { sqliteConnectionCount } from './sqlite/registry.js';
export type { SqliteStore } from './sqlite/sqlite-store.js';

/**
 * Opens (creating if needed) the intent store in the SQLite file at `path`. The directory is made
 * 0700 and must not be readable by others; the file is 0600. Stores opened on the same file in
 * one process share one connection; close each when done (the last close releases the file).
 *
 * @example
 * const store = sqliteStore('.idempotency/intents.db', { maxBodyBytes: 16 * 1024 * 1024 });
 */
export function sqliteStore(path = '.idempotency/intents.db', options?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(path, normalizeSqliteOptions(options));
}
