// The Node-only entry: stores that need `node:` modules.
import './runtime-guard.js';
export { sqliteStore, openSqliteReadOnly } from './stores/sqlite.js';
export type { SqliteStore, SqliteStoreOptions, SqliteStats, SqliteReader } from './stores/sqlite.js';
