import { createRequire } from 'node:module';
import type { DatabaseSync } from 'node:sqlite';

/** Loaded on first use: an entry importing this on a Node without node:sqlite still runs its version check first. */
export const sqlite = (): typeof import('node:sqlite') => createRequire(import.meta.url)('node:sqlite');

/**
 * The layout this version writes, kept in `PRAGMA user_version`. A file with a higher number was
 * written by a newer durable-fetch: it is refused rather than misread.
 */
export const SCHEMA_VERSION = 1;

/**
 * Columns are named after the `Intent` fields so rows map without a table of names. Bodies are
 * BLOBs; header maps are JSON text. The claim index serves `claim` (scope, state, lease ended,
 * oldest first); the expiry index serves compaction.
 */
const SCHEMA_V1 = `
  CREATE TABLE intents (
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    idempotencyKey TEXT NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    origin TEXT NOT NULL,
    headers TEXT NOT NULL,
    keyHeader TEXT NOT NULL,
    keyFormat TEXT NOT NULL,
    body BLOB,
    fingerprint TEXT NOT NULL,
    createdAt INTEGER NOT NULL,
    updatedAt INTEGER NOT NULL,
    expiresAt INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    state TEXT NOT NULL,
    owner TEXT,
    leaseUntil INTEGER NOT NULL,
    version INTEGER NOT NULL,
    responseStatus INTEGER,
    responseStatusText TEXT,
    responseHeaders TEXT,
    responseBody BLOB,
    traceparent TEXT,
    PRIMARY KEY (scope, id)
  );
  CREATE INDEX intents_claim ON intents (scope, state, leaseUntil, createdAt);
  CREATE INDEX intents_expiry ON intents (expiresAt);
`;

/**
 * Opens the database for writing: WAL so readers never wait for the writer, `synchronous=FULL`
 * so a resolved commit survives power loss (the WAL is fsynced on every commit), and a busy timeout so processes sharing the file
 * wait for each other's write lock instead of failing at once. Creates the schema if missing.
 */
export function openForWriting(path: string, busyTimeoutMs: number): DatabaseSync {
  const db = new (sqlite().DatabaseSync)(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    // The WAL is reused after each checkpoint but never shrinks by itself: one 200 MB body would
    // leave a 200 MB file behind. The limit truncates it back after the checkpoint.
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA journal_size_limit = 67108864;');
    createSchema(db, path);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Opens the database to read only (the CLI): never creates, never migrates. */
export function openForReading(path: string): DatabaseSync {
  return checkedForReading(new (sqlite().DatabaseSync)(path, { readOnly: true }), path);
}

/** `db`, opened read-only on the file at `path`, once its layout is known to be readable; closed if not. */
export function checkedForReading(db: DatabaseSync, path: string): DatabaseSync {
  try {
    checkVersion(userVersion(db), path);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function createSchema(db: DatabaseSync, path: string): void {
  // IMMEDIATE: two processes opening a new file at once must not both create the table.
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = userVersion(db);
    checkVersion(version, path);
    if (version === 0) db.exec(`${SCHEMA_V1} PRAGMA user_version = ${SCHEMA_VERSION};`);
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

function userVersion(db: DatabaseSync): number {
  return Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
}

function checkVersion(version: number, path: string): void {
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `${path} has intent-store schema version ${version}, written by a newer durable-fetch; this version reads up to ${SCHEMA_VERSION}. Upgrade durable-fetch to use it.`,
    );
  }
}
