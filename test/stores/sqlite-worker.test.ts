/**
 * The worker thread that owns a journal's connection dies — terminated as a crash would end it,
 * or out of its heap on a real resource limit — and the next call works, on every store of the
 * file, old and new; the calls it held fail, each saying exactly what became of it.
 */
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createClient, IdempotencyStoreError } from '../../src/index.node.js';
import { setWorkerResourceLimits } from '../../src/stores/sqlite/connection.js';
import { sharedConnection } from '../../src/stores/sqlite/registry.js';
import { sqliteConnectionCount, sqliteStore, type SqliteStore } from '../../src/stores/sqlite.js';
import { makeIntent } from '../../src/testing.js';
import { type RecordingServer, startRecordingServer } from '../support/recording-server.js';
import { freshDbPath, withRawDatabase } from '../support/sqlite.js';

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(() => server.close());

const connectionOf = (store: SqliteStore) => sharedConnection(store.path)!;

describe('a dead sqlite worker', () => {
  it('terminated while calls wait on the write lock: they fail unsent and unwritten, and the next calls work, through any store', async () => {
    const path = await freshDbPath();
    const store = sqliteStore(path, { busyTimeoutMs: 1_000 });
    const api = createClient({ prefix: server.url, store, retry: 0 });
    await api.post('v1/payouts', { json: { n: 1 }, idempotencyKey: 'before' });
    await api.flush();

    // Another connection holds the write lock: the worker's next commit waits inside SQLite.
    const blocker = new DatabaseSync(path);
    blocker.exec('BEGIN IMMEDIATE');
    const waiting = [
      api.post('v1/payouts', { json: { n: 2 }, idempotencyKey: 'in-flight-call' }),
      store.create(makeIntent({ idempotencyKey: 'in-flight-create' })),
      store.list(),
    ].map((promise) => promise.then(() => 'resolved', (error: Error) => error));
    await (await connectionOf(store)).terminateWorker();
    blocker.exec('ROLLBACK');
    blocker.close();
    const [call, create, list] = await Promise.all(waiting);

    expect(call).toBeInstanceOf(IdempotencyStoreError);
    expect((call as Error).message).toMatch(
      /^Could not journal the intent of key "in-flight-call"; nothing was sent: The sqlite store's worker for \S+ stopped before this create was committed \(.*\); nothing of it was written\. The next call starts a new one\.$/,
    );
    expect((create as Error).message).toMatch(/stopped before this create was committed .*; nothing of it was written/);
    expect((list as Error).message).toMatch(/stopped before answering this list .*; it wrote nothing/);
    expect(server.requests.map((request) => request.key)).not.toContain('in-flight-call');

    // The next call, on the same client and store, starts a new worker.
    const after = await api.post('v1/payouts', { json: { n: 3 }, idempotencyKey: 'after' });
    expect(after.status).toBe(201);
    await api.flush();
    const fresh = sqliteStore(path);
    expect((await fresh.list()).map((intent) => [intent.idempotencyKey, intent.state])).toEqual([
      ['before', 'succeeded'],
      ['after', 'succeeded'],
    ]);
    expect(sqliteConnectionCount()).toBe(1);
    await fresh.close();
    await api.close();
    expect(sqliteConnectionCount()).toBe(0);
  });

  it('out of its heap on a big listing (a real resource limit): the listing and the write beside it fail, the next calls work', async () => {
    setWorkerResourceLimits({ maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4 });
    onTestFinished(() => setWorkerResourceLimits(undefined));
    const path = await freshDbPath();
    const store = sqliteStore(path);
    onTestFinished(() => store.close());
    const template = makeIntent({ scope: 'many' });
    await store.create(template);
    // 20,000 more intents with 4 kB URLs: some 80 MB of summaries, far past the worker's heap.
    withRawDatabase(path, (db) =>
      db.exec(`
        INSERT INTO intents
        SELECT scope, id || '-' || n, idempotencyKey || '-' || n, method, url || '?pad=' || hex(zeroblob(2048)), origin, headers,
          keyHeader, keyFormat, body, fingerprint, createdAt, updatedAt, expiresAt, attempts, state, owner, leaseUntil, version,
          responseStatus, responseStatusText, responseHeaders, responseBody, traceparent
        FROM intents, (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 20000) SELECT n FROM c)`),
    );
    const beside = makeIntent({ scope: 'small' });
    const [listing, create] = await Promise.all([store.list(), store.create(beside)].map((promise) => promise.then(() => 'resolved', (error: Error) => error)));

    expect((listing as Error).message).toMatch(/stopped before answering this list \(.*memory limit.*\); it wrote nothing\. The next call starts a new one\./);
    expect((create as Error).message).toMatch(/stopped before this create was committed \(.*memory limit.*\); nothing of it was written/);
    await expect(store.get(beside.scope, beside.id)).resolves.toBeUndefined();
    await expect(store.create(beside)).resolves.toBeUndefined();
    const another = sqliteStore(path);
    await expect(another.list({ scope: 'small' })).resolves.toEqual([expect.objectContaining({ id: beside.id })]);
    await another.close();
  }, 60_000);
});
