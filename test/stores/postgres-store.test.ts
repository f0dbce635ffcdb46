import { type AddressInfo, createServer, type Socket } from 'node:net';
import { describe, expect, inject, it, onTestFinished, vi } from 'vitest';
import { postgresDdl, type PostgresStore, postgresStore } from '../../src/postgres.js';
import { PayloadTooLargeError } from '../../src/stores/store.js';
import { describeIntentStore } from '../../src/testing.js';
import { makeIntent, timeless } from '../../src/testing/intents.js';
import { startPostgres } from '../../support/postgres.js';
import { freshStore, freshTable, plantUnknownRow, testPool } from '../support/postgres-tables.js';
import { startClaimantProcess } from '../support/processes.js';

describeIntentStore('postgresStore', () => freshStore(), {
  plantUnknown: plantUnknownRow,
  processes: { count: 4, startClaimant: (store, request) => startClaimantProcess(['postgres', inject('postgresUrl'), (store as PostgresStore).table], request) },
});

/** A watch on `store` that counts its calls; resolves once it listens (its first call). */
async function countingWatch(store: { watch(onChange: () => void): () => Promise<void> }): Promise<{ calls: () => number }> {
  let calls = 0;
  const stop = store.watch(() => calls++);
  onTestFinished(stop);
  await vi.waitFor(() => expect(calls).toBeGreaterThan(0), { timeout: 10_000 });
  return { calls: () => calls };
}

describe('postgresStore: its table', () => {
  it('creates the table once when 4 stores open a new one at the same moment', async () => {
    const table = freshTable();
    const stores = Array.from({ length: 4 }, () => postgresStore({ connectionString: inject('postgresUrl'), table }));
    onTestFinished(async () => void (await Promise.all(stores.map((store) => store.close()))));
    await expect(Promise.all(stores.map((store) => store.list()))).resolves.toEqual([[], [], [], []]);
    const intent = makeIntent();
    await stores[0]!.create(intent);
    expect(timeless((await stores[3]!.get(intent.scope, intent.id))!)).toEqual(timeless(intent));
  });

  it('publishes its DDL, which can be run again over an existing table', async () => {
    const table = freshTable();
    const pool = testPool();
    await pool.query(postgresDdl(table));
    await pool.query(postgresDdl(table));
    const store = postgresStore({ pool, table });
    const intent = makeIntent();
    await store.create(intent);
    expect(timeless((await store.get(intent.scope, intent.id))!)).toEqual(timeless(intent));
    await store.close();
    // The caller's pool stays open.
    await expect(pool.query(`SELECT count(*)::int AS n FROM "${table}"`)).resolves.toMatchObject({ rows: [{ n: 1 }] });
  });

  it('keeps its table in the schema it is given', async () => {
    const pool = testPool();
    const schema = freshTable();
    await pool.query(`CREATE SCHEMA "${schema}"`);
    onTestFinished(async () => void (await pool.query(`DROP SCHEMA "${schema}" CASCADE`)));
    const store = postgresStore({ pool, schema, table: 'intents' });
    const intent = makeIntent();
    await store.create(intent);
    await expect(pool.query(`SELECT id FROM "${schema}".intents`)).resolves.toMatchObject({ rows: [{ id: intent.id }] });
    await store.close();
  });

  it('refuses options it cannot use, naming them', () => {
    expect(() => postgresStore({})).toThrow(/exactly one of `pool`.*or `connectionString`/);
    expect(() => postgresStore({ connectionString: 'postgres://x', table: 'x'.repeat(60) })).toThrow(/`table` must be 1 to 55 bytes/);
    for (const maxBodyBytes of [-1, 1.5, Number.NaN, '10' as unknown as number]) {
      expect(() => postgresStore({ connectionString: 'postgres://x', maxBodyBytes })).toThrow(/`maxBodyBytes` must be a whole number of bytes/);
    }
  });

  it('refuses a body or an answer over maxBodyBytes with PayloadTooLargeError, before writing anything', async () => {
    const store = postgresStore({ connectionString: inject('postgresUrl'), table: freshTable(), maxBodyBytes: 1024 });
    onTestFinished(() => store.close());
    const tooBig = makeIntent({ body: new Uint8Array(1025) });
    const create = store.create(tooBig);
    await expect(create).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(create).rejects.toThrow('The request body is 1025 bytes; the postgres store keeps at most 1024 (option maxBodyBytes).');
    await expect(store.list()).resolves.toEqual([]);
    const fits = makeIntent({ body: new Uint8Array(1024) });
    await store.create(fits);
    const answer = { status: 201, statusText: 'Created', headers: {}, body: new Uint8Array(2048) };
    const update = store.update(fits.scope, fits.id, 1, { state: 'succeeded', response: answer });
    await expect(update).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(update).rejects.toThrow(/stored answer body is 2048 bytes/);
    expect(await store.get(fits.scope, fits.id)).toMatchObject({ state: 'pending', version: 1 });
  });
});

describe('postgresStore: the caller’s transaction', () => {
  it('leaves nothing when the transaction rolls back, and keeps the intent when it commits', async () => {
    const store = freshStore();
    onTestFinished(() => store.close());
    const client = await testPool().connect();
    onTestFinished(() => client.release());
    const [rolledBack, committed] = [makeIntent(), makeIntent()];
    await store.list(); // the table exists before the caller's transaction
    await client.query('BEGIN');
    await store.create(rolledBack, { transaction: client });
    await client.query('ROLLBACK');
    await client.query('BEGIN');
    await store.create(committed, { transaction: client });
    await expect(store.get(committed.scope, committed.id)).resolves.toBeUndefined();
    await client.query('COMMIT');
    await expect(store.get(rolledBack.scope, rolledBack.id)).resolves.toBeUndefined();
    expect(timeless((await store.get(committed.scope, committed.id))!)).toEqual(timeless(committed));
  });

  it('tells watchers of an intent created in a transaction when it commits, not before', async () => {
    const store = freshStore();
    onTestFinished(() => store.close());
    const watcher = await countingWatch(store);
    const before = watcher.calls();
    const client = await testPool().connect();
    onTestFinished(() => client.release());
    await client.query('BEGIN');
    await store.create(makeIntent(), { transaction: client });
    // A plain create commits at once and notifies; notifications arrive in commit order, so
    // when it has arrived, one from the open transaction would have too.
    await store.create(makeIntent());
    await vi.waitFor(() => expect(watcher.calls()).toBe(before + 1));
    await client.query('COMMIT');
    await vi.waitFor(() => expect(watcher.calls()).toBe(before + 2));
  });

  it('lets a new store open the table while a transaction holds an uncommitted intent', async () => {
    const store = freshStore();
    onTestFinished(() => store.close());
    const client = await testPool().connect();
    onTestFinished(() => client.release());
    await client.query('BEGIN');
    await store.create(makeIntent(), { transaction: client });
    const another = postgresStore({ connectionString: inject('postgresUrl'), table: store.table });
    onTestFinished(() => another.close());
    await expect(another.list()).resolves.toEqual([]);
    await client.query('COMMIT');
    await expect(another.list()).resolves.toHaveLength(1);
  });

  it('refuses a transaction that is not a pg client', async () => {
    const store = freshStore();
    onTestFinished(() => store.close());
    await expect(store.create(makeIntent(), { transaction: {} })).rejects.toThrow(/`transaction` must be a pg client/);
  });
});

describe('postgresStore: notifications', () => {
  it('announces intents that become claimable (an unowned create, a release), not owned creates or settlements', async () => {
    const store = freshStore();
    onTestFinished(() => store.close());
    // What the table's channel carries, in commit order, read by a LISTEN of the test's own.
    const listener = await testPool().connect();
    onTestFinished(() => listener.release());
    const heard: string[] = [];
    listener.on('notification', (message) => heard.push(message.payload ?? ''));
    await listener.query(`LISTEN "${store.table}"`);
    const owned = makeIntent({ owner: 'worker', createdAt: 1_000, leaseUntil: 61_000 });
    await store.create(owned);
    await store.update(owned.scope, owned.id, 1, { attempts: 1 });
    await store.update(owned.scope, owned.id, 2, { owner: null, leaseMs: 0 });
    await store.update(owned.scope, owned.id, 3, { state: 'succeeded', owner: null, leaseMs: 0 });
    await store.create(makeIntent());
    await listener.query(`NOTIFY "${store.table}", 'end of test'`);
    await vi.waitFor(() => expect(heard.at(-1)).toBe('end of test'));
    // The release, then the unowned create.
    expect(heard).toEqual(['', '', 'end of test']);
  });
});

describe('postgresStore: stopping a watch', () => {
  it('does not wait for a connection that never answers', async () => {
    // A server that accepts connections and never says a word, like a host behind a dead route.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { port } = silent.address() as AddressInfo;
    const store = postgresStore({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 120_000 });
    const stop = store.watch(() => {});
    await vi.waitFor(() => expect(sockets.size).toBe(1));
    await stop();
  });
});

describe('postgresStore: PostgreSQL restarts mid-run', () => {
  it('fails calls with a clear error while the server is down, and works again after, watch included', async () => {
    const server = await startPostgres();
    onTestFinished(() => server.destroy());
    const store = postgresStore({ connectionString: server.url, table: freshTable() });
    onTestFinished(() => store.close());
    const kept = makeIntent();
    await store.create(kept);
    const watcher = await countingWatch(store);

    await server.stop('immediate');
    const beforeRestart = watcher.calls();
    await expect(store.get(kept.scope, kept.id)).rejects.toThrow(/^The postgres store could not read an intent in intents_\w+: .+/);
    await expect(store.create(makeIntent())).rejects.toThrow(/could not create an intent/);
    await expect(store.claim({ scope: 'tenant-a', origins: [kept.origin], states: ['pending'], owner: 'x', leaseMs: 1000, limit: 1 })).rejects.toThrow(/could not claim intents/);

    await server.start();
    expect(timeless((await store.get(kept.scope, kept.id))!)).toEqual(timeless(kept));
    // The watch listens again (and says so, so a relay looks for what it missed)...
    await vi.waitFor(() => expect(watcher.calls()).toBeGreaterThan(beforeRestart), { timeout: 10_000 });
    // ...and hears new intents.
    const heard = watcher.calls();
    await store.create(makeIntent());
    await vi.waitFor(() => expect(watcher.calls()).toBe(heard + 1));
  }, 60_000);
});
