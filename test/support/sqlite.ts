import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { onTestFinished } from 'vitest';
import type { Intent, IntentStore } from '../../src/stores/store.js';
import type { SqliteStore } from '../../src/stores/sqlite.js';

/** A fresh private (0700) directory, removed when the test ends. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'durable-fetch-sqlite-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A real small disk: a tmpfs of `size` (e.g. '1m') mounted on a fresh 0700 directory, unmounted
 * when the test ends. Needs root, as CI has; elsewhere the mount fails and so does the test.
 */
export async function smallDisk(size: string): Promise<string> {
  const dir = join(await tempDir(), 'disk');
  await mkdir(dir, { mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  onTestFinished(() => {
    execFileSync('umount', ['-l', dir]);
  });
  return dir;
}

/** Writes to `path` until the disk is full. */
export async function fillDisk(path: string): Promise<void> {
  const chunk = new Uint8Array(4096);
  let written = 0;
  try {
    for (;;) {
      await writeFile(path, chunk, { flag: 'a' });
      written += chunk.length;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC' || written === 0) throw error;
  }
}

/** A path for a new database file in a fresh directory. */
export async function freshDbPath(): Promise<string> {
  return join(await tempDir(), 'intents.db');
}

/** Runs `sql` on the file through a connection of its own, as another program or version would. */
export function withRawDatabase<T>(path: string, use: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(path, { timeout: 5000 });
  try {
    return use(db);
  } finally {
    db.close();
  }
}

/** Stores `intent` as created, then gives it its (unknown) state behind the store's back. */
export async function plantUnknownRow(store: IntentStore, intent: Intent): Promise<void> {
  await store.create({ ...intent, state: 'pending' });
  withRawDatabase((store as SqliteStore).path, (db) =>
    db.prepare('UPDATE intents SET state = ? WHERE scope = ? AND id = ?').run(intent.state, intent.scope, intent.id),
  );
}


/**
 * Stores `intent` as created, then writes `value` into its time `field` behind the store's back,
 * as a program writing by hand or a damaged file would; a whole number an INTEGER holds goes in
 * as one (beyond 2^53 too), anything else as it is (text, a REAL, a BLOB).
 */
export async function plantDamagedRow(store: IntentStore, intent: Intent, field: string, value: unknown): Promise<void> {
  await store.create(intent);
  const stored = typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 63 ? BigInt(value) : value;
  withRawDatabase((store as SqliteStore).path, (db) =>
    db.prepare(`UPDATE intents SET "${field}" = ? WHERE scope = ? AND id = ?`).run(stored as never, intent.scope, intent.id),
  );
}
