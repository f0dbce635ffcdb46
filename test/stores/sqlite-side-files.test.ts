/**
 * The -wal and -shm beside a journal are deleted or replaced under a real writer process, which
 * is then SIGKILLed: what it was told was journaled must be in the file a fresh process opens, and
 * the server must have received nothing whose intent is not there. And what SQLite itself does to
 * those files — checkpoints, truncation, other connections and processes coming and going — must
 * never be taken for damage.
 */
import { copyFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { makeIntent, seededBytes } from '../../src/testing.js';
import { runFixture, untilLine, untilLines } from '../support/processes.js';
import { type RecordingServer, startRecordingServer } from '../support/recording-server.js';
import { freshDbPath, withRawDatabase } from '../support/sqlite.js';

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(() => server.close());

const inode = (file: string) => statSync(file).ino;

const DAMAGE: Array<{ name: string; damage: (path: string) => void; file: RegExp }> = [
  { name: 'the -wal deleted', damage: (path) => rmSync(`${path}-wal`), file: /write-ahead log \S+-wal was deleted or replaced while open/ },
  {
    name: 'the -wal replaced by a copy of itself',
    damage: (path) => {
      copyFileSync(`${path}-wal`, `${path}-wal.copy`);
      renameSync(`${path}-wal.copy`, `${path}-wal`);
    },
    file: /write-ahead log \S+-wal was deleted or replaced while open/,
  },
  { name: 'the -shm deleted', damage: (path) => rmSync(`${path}-shm`), file: /shared-memory index \S+-shm was deleted or replaced while open/ },
  {
    name: 'both deleted (rm intents.db-*)',
    damage: (path) => {
      rmSync(`${path}-wal`);
      rmSync(`${path}-shm`);
    },
    file: /write-ahead log \S+-wal was deleted or replaced while open/,
  },
];

describe('a journal whose -wal or -shm is deleted or replaced under a running writer', () => {
  it.each(DAMAGE)('$name: the next write is refused, nothing sent for it; after SIGKILL, everything journaled is in the file', async ({ damage, file }) => {
    const path = await freshDbPath();
    const writer = runFixture('sqlite-writer.ts', [path, 'calls', server.url], { nodeArgs: ['--import', 'tsx'] });
    await untilLines(writer, 20);
    damage(path);
    const refused = await untilLine(writer, (line) => line.startsWith('refused '));
    // Nothing more can happen in the writer: it stays, the store open, until killed.
    writer.child.kill('SIGKILL');
    expect((await writer.exited).signal).toBe('SIGKILL');
    await server.idle();

    const refusedKey = refused.split(' ')[1]!;
    expect(refused).toMatch(/^refused call-\d+ IdempotencyStoreError: Could not (journal|read) the intent of key "call-\d+"; nothing was sent: /);
    expect(refused).toMatch(file);
    expect(refused).toMatch(/Restart the processes that use this journal/);
    const answered = writer.lines.filter((line) => line.startsWith('answered ')).map((line) => line.slice('answered '.length));
    const received = server.requests.filter((request) => request.sender === `writer-${writer.child.pid}`).map((request) => request.key);
    expect(answered.length).toBeGreaterThanOrEqual(20);

    const reopened = sqliteStore(path);
    const journaled = (await reopened.list()).map((intent) => intent.idempotencyKey);
    await reopened.close();
    // Every call answered, and every request the server saw, has its intent in the journal.
    expect(answered.filter((key) => !journaled.includes(key))).toEqual([]);
    expect(received.filter((key) => !journaled.includes(key))).toEqual([]);
    // The refused call sent nothing and left nothing.
    expect(received).not.toContain(refusedKey);
    expect(journaled).not.toContain(refusedKey);
  });

  it('refuses every later call of the process too, through any store on the file, until they are closed and it is opened again', async () => {
    const path = await freshDbPath();
    const store = sqliteStore(path);
    const first = makeIntent();
    await store.create(first);
    rmSync(`${path}-wal`);
    await expect(store.create(makeIntent())).rejects.toThrow(/write-ahead log \S+ was deleted or replaced while open/);
    const another = sqliteStore(path);
    await expect(another.get(first.scope, first.id)).rejects.toThrow(/was deleted or replaced while open/);
    await expect(store.list()).rejects.toThrow(/was deleted or replaced while open/);
    await Promise.all([store.close(), another.close()]);

    const reopened = sqliteStore(path);
    expect((await reopened.list()).map((intent) => intent.id)).toEqual([first.id]);
    await expect(reopened.create(makeIntent())).resolves.toBeUndefined();
    await reopened.close();
  });
});

describe('what SQLite itself does to -wal and -shm is no damage', () => {
  it('checkpoints, journal_size_limit truncation, TRUNCATE checkpoints and other connections and processes keep the files and the writes going', async () => {
    const path = await freshDbPath();
    const store = sqliteStore(path);
    await store.create(makeIntent());
    const wal = inode(`${path}-wal`);
    const shm = inode(`${path}-shm`);

    // One 80 MB commit: the log outgrows journal_size_limit (64 MiB) and is cut back after the checkpoint.
    await store.create(makeIntent({ body: seededBytes(80 * 1000 * 1000, 3) }));
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(64 * 1024 * 1024);
    for (let i = 0; i < 20; i++) await store.create(makeIntent({ body: seededBytes(300_000, i) }));
    expect(statSync(`${path}-wal`).size).toBeLessThanOrEqual(64 * 1024 * 1024);

    // Another connection of this process empties the log, then closes.
    withRawDatabase(path, (db) => db.exec('PRAGMA wal_checkpoint(TRUNCATE)'));
    expect(statSync(`${path}-wal`).size).toBe(0);
    // Another process opens the file, writes, and closes: it is not the last connection, so it deletes nothing.
    const other = runFixture('sqlite-writer.ts', [path, 'close'], { nodeArgs: ['--import', 'tsx'] });
    expect(await other.exited).toMatchObject({ code: 0 });

    await expect(store.create(makeIntent())).resolves.toBeUndefined();
    expect([inode(`${path}-wal`), inode(`${path}-shm`)]).toEqual([wal, shm]);
    expect(await store.stats()).toMatchObject({ failedCommits: 0 });
    expect(await store.list()).toHaveLength(1 + 1 + 20 + 10 + 1);
    await store.close();
  }, 120_000);
});
