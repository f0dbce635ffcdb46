import { createRequire } from 'node:module';
import type { DatabaseSync } from 'node:sqlite';
import { bootId, monotonicMs } from './host.ts';

/** Loaded on first use: an entry importing this on a Node without node:sqlite still runs its version check first. */
export const sqlite = (): typeof import('node:sqlite') => createRequire(import.meta.url)('node:sqlite');

/**
 * The layout this version writes, kept in `PRAGMA user_version`. A file with a higher number was
 * written by a newer durable-fetch: it is refused rather than misread.
 */
export const SCHEMA_VERSION = 2;

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
 * Version 2: the host clock's anchor, one row for the current boot (host.ts), and an index of the
 * intents that have an owner, so a claim looks for dead owners among those alone.
 */
const SCHEMA_V2 = `
  CREATE TABLE clock (boot TEXT PRIMARY KEY, anchor INTEGER NOT NULL);
  CREATE INDEX intents_owned ON intents (scope, owner) WHERE owner IS NOT NULL;
`;

/** A clock reading epoch ms on the store's time line. */
export type Clock = () => number;

/**
 * Opens the database for writing: WAL so readers never wait for the writer, `synchronous=FULL`
 * so a resolved commit survives power loss (the WAL is fsynced on every commit), and a busy timeout so processes sharing the file
 * wait for each other's write lock instead of failing at once. Creates the schema if missing.
 */
export function openForWriting(path: string, busyTimeoutMs: number): { db: DatabaseSync; clock: Clock } {
  const db = new (sqlite().DatabaseSync)(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    // The WAL is reused after each checkpoint but never shrinks by itself: one 200 MB body would
    // leave a 200 MB file behind. The limit truncates it back after the checkpoint.
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA journal_size_limit = 67108864;');
    const anchor = createSchema(db, path);
    return { db, clock: () => anchor + monotonicMs() };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The host clock as a reader sees it: this boot's anchor when a writer has set one, else the wall
 * clock (nothing was written in this boot, so nothing on the file was timed by it).
 */
export function readingClock(db: DatabaseSync): Clock {
  const hasClock = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'clock'").get() !== undefined;
  const row = hasClock ? (db.prepare('SELECT anchor FROM clock WHERE boot = ?').get(bootId()) as { anchor: number } | undefined) : undefined;
  return row === undefined ? () => Date.now() : () => Number(row.anchor) + monotonicMs();
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

/**
 * Creates or upgrades the layout and resolves this boot's clock anchor, in one IMMEDIATE
 * transaction: two processes opening a new file at once must not both create the table, nor set
 * two anchors for one boot. The first process of a boot sets the anchor (and drops the last
 * boot's), so that the host clock reads the wall clock's time at that moment.
 */
function createSchema(db: DatabaseSync, path: string): number {
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = userVersion(db);
    checkVersion(version, path);
    if (version === 0) db.exec(SCHEMA_V1);
    if (version < 2) db.exec(`${SCHEMA_V2} PRAGMA user_version = ${SCHEMA_VERSION};`);
    const boot = bootId();
    let row = db.prepare('SELECT anchor FROM clock WHERE boot = ?').get(boot) as { anchor: number } | undefined;
    if (row === undefined) {
      row = { anchor: Date.now() - monotonicMs() };
      db.prepare('DELETE FROM clock').run();
      db.prepare('INSERT INTO clock (boot, anchor) VALUES (?, ?)').run(boot, row.anchor);
    }
    db.exec('COMMIT');
    return Number(row.anchor);
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
