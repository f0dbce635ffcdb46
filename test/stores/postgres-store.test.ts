import { type AddressInfo, createServer, type Socket } from 'node:net';
import type pg from 'pg';
import { describe, expect, inject, it, onTestFinished, vi } from 'vitest';
import { postgresDdl, type PostgresStore, postgresStore } from '../../src/postgres.js';
import { IntentTable } from '../../src/stores/postgres/intent-table.js';
import { tableName } from '../../src/stores/postgres/names.js';
import { type IntentStore, PayloadTooLargeError } from '../../src/stores/store.js';
import { describeIntentStore } from '../../src/testing.js';
import { claimRequest } from '../../src/testing/claims.js';
import { makeIntent, timeless } from '../../src/testing/intents.js';
import { startPostgres } from '../../support/postgres.js';
import { freshStore, freshTable, plantDamagedRow, plantUnknownRow, testPool } from '../support/postgres-tables.js';
import { runFixture, startClaimantProcess, untilLines } from '../support/processes.js';

/** The store's default `livenessGraceMs`. */
const GRACE_MS = 750;
/** An hour's lease from createdAt: only an owner's death can free such an intent within a test. */
const HELD = { createdAt: 1_000, leaseUntil: 1_000 + 60 * 60 * 1000 };

describeIntentStore('postgresStore', () => freshStore(), {
  plantUnknown: plantUnknownRow,
  plantDamaged: plantDamagedRow,
  processes: { count: 4, startClaimant: (store, request) => startClaimantProcess(['postgres', inject('postgresUrl'), (store as PostgresStore).table], request) },
  // An owner is alive while its lock is held on its store's presence session: a process that
  // enlisted and was killed with SIGKILL. It is gone once a claim has seen its lock missing for
  // the grace, vouched for by a presence session that outlived the absence (the suite's store's
  // own, opened by an enlistment first), which claiming an intent of its own (in a scope of its
  // own) shows.
  async deadOwner(store) {
    await (await store.enlist!()).release();
    const holder = runFixture('enlisted-owner.ts', ['postgres', inject('postgresUrl'), (store as PostgresStore).table], { nodeArgs: ['--import', 'tsx'] });
    const [owner] = await untilLines(holder, 1);
    holder.child.kill('SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');
    await untilGone(store, owner!);
    return owner!;
  },
});

/** Resolves once claimants take `owner` for dead: an intent of its own, in a scope no test reads, can be claimed. */
async function untilGone(store: IntentStore, owner: string): Promise<void> {
  const probe = makeIntent({ scope: 'dead-owner-probe', owner, ...HELD });
  await store.create(probe);
  const request = claimRequest({ scope: 'dead-owner-probe', owner: 'prober', id: probe.id });
  await vi.waitFor(async () => expect(await store.claim(request)).toHaveLength(1), { timeout: 10_000, interval: 50 });
}

/** The backends holding `owner`'s presence lock: its store's two presence sessions, when both are up. */
async function presenceBackends(pool: pg.Pool, owner: string): Promise<number[]> {
  const { rows } = await pool.query(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0) ORDER BY pid`,
    [owner],
  );
  return rows.map((row) => row.pid as number);
}

/** `owner`'s row in the owners table. */
async function ownerRow(pool: pg.Pool, table: string, owner: string): Promise<{ generation: string; released: boolean } | undefined> {
  return (await pool.query(`SELECT generation, released FROM "${table}_owners" WHERE owner = $1`, [owner])).rows[0];
}

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
    for (const livenessGraceMs of [0, 249, 60_001, 500.5]) {
      expect(() => postgresStore({ connectionString: 'postgres://x', livenessGraceMs })).toThrow(/`livenessGraceMs` must be a whole number of ms from 250 to 60000/);
    }
  });

  it('adds the owners table and the owned index to a table an older version made, and leaves a complete set alone', async () => {
    const table = freshTable();
    const pool = testPool();
    // The intents table and its first two indexes, as the version before liveness made them.
    await pool.query(postgresDdl(table).split(`CREATE INDEX IF NOT EXISTS "${table}_owned"`)[0]!);
    const missing = await pool.query('SELECT to_regclass($1) AS owners, to_regclass($2) AS owned', [`${table}_owners`, `${table}_owned`]);
    expect(missing.rows[0]).toEqual({ owners: null, owned: null });
    const store = postgresStore({ pool, table });
    const { owner } = await store.enlist();
    await store.create(makeIntent({ owner, ...HELD }));
    const made = await pool.query('SELECT to_regclass($1)::text AS owners, to_regclass($2)::text AS owned', [`${table}_owners`, `${table}_owned`]);
    expect(made.rows[0]).toEqual({ owners: `${table}_owners`, owned: `${table}_owned` });
    await store.close();
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

describe('postgresStore: owners it can see die', () => {
  it("takes a released owner's intents at once, and forgets the owner on compaction once nothing refers to it", async () => {
    const store = freshStore();
    onTestFinished(() => store.close());
    const pool = testPool();
    const [released, live] = [await store.enlist(), await store.enlist()];
    const intent = makeIntent({ owner: released.owner, ...HELD });
    await store.create(intent);
    await released.release();
    expect(await ownerRow(pool, store.table, released.owner)).toMatchObject({ released: true });
    expect(await presenceBackends(pool, released.owner)).toEqual([]);
    // Its intent still names it: kept.
    await store.compact();
    expect(await ownerRow(pool, store.table, released.owner)).toBeDefined();
    expect((await store.claim(claimRequest())).map((claimed) => claimed.id)).toEqual([intent.id]);
    await store.compact();
    expect(await ownerRow(pool, store.table, released.owner)).toBeUndefined();
    // A live owner with nothing to its name keeps its row and its lock.
    expect(await ownerRow(pool, store.table, live.owner)).toMatchObject({ released: false });
    expect(await presenceBackends(pool, live.owner)).toHaveLength(2);
    await live.release();
  });

  it('keeps an owner whose presence connections are killed, one or both at once, 16 times; once its store closes, wakes watchers and is taken after the grace', async () => {
    const owning = freshStore();
    const claimant = postgresStore({ connectionString: inject('postgresUrl'), table: owning.table });
    onTestFinished(async () => void (await Promise.all([owning.close(), claimant.close()])));
    const pool = testPool();
    // The claimant's presence sessions, up all along: they vouch that sessions were not all lost at once.
    await claimant.enlist();
    const { owner } = await owning.enlist();
    const intent = makeIntent({ owner, ...HELD });
    await owning.create(intent);
    const generation = async () => Number((await ownerRow(pool, owning.table, owner))!.generation);
    // Both sessions hold the lock; each took it once.
    await vi.waitFor(async () => expect(await presenceBackends(pool, owner)).toHaveLength(2));
    let expected = await generation();

    let killing = true;
    let claims = 0;
    const taken: string[] = [];
    const claiming = (async () => {
      for (; killing; claims++) taken.push(...(await claimant.claim(claimRequest())).map((claimed) => claimed.id));
    })();
    for (let kill = 1; kill <= 16; kill++) {
      // Odd rounds one session, even rounds both: then the owner's lock is missing until one is back.
      const backends = await presenceBackends(pool, owner);
      const victims = kill % 2 === 1 ? backends.slice(0, 1) : backends;
      await pool.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [victims]);
      expected += victims.length;
      // Back: new sessions have taken the lock again, each saying so with a new generation.
      await vi.waitFor(async () => {
        expect(await generation()).toBe(expected);
        expect(await presenceBackends(pool, owner)).toHaveLength(2);
      }, { timeout: 10_000, interval: 5 });
    }
    killing = false;
    await claiming;
    expect(taken).toEqual([]);
    expect(claims).toBeGreaterThan(16);

    // Its store closes without releasing it, as a process that dies: the lock is gone for good.
    let woken = 0;
    const unwatch = claimant.watch(() => woken++);
    onTestFinished(unwatch);
    await vi.waitFor(() => expect(woken).toBe(1)); // listening
    await owning.close();
    const closedAt = performance.now();
    // The first claim sees the lock missing and takes nothing; the store wakes its watchers when the grace is over.
    await expect(claimant.claim(claimRequest())).resolves.toEqual([]);
    await vi.waitFor(() => expect(woken).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 5 });
    const wokenAfter = performance.now() - closedAt;
    expect((await claimant.claim(claimRequest())).map((claimed) => claimed.id)).toEqual([intent.id]);
    expect(wokenAfter).toBeGreaterThanOrEqual(GRACE_MS);
    expect(wokenAfter).toBeLessThan(GRACE_MS + 1_000);
  }, 60_000);

  it('fails to enlist, rather than wait, when PostgreSQL cannot be reached', async () => {
    const store = postgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres', table: freshTable() });
    onTestFinished(() => store.close());
    await expect(store.enlist()).rejects.toThrow(/could not enlist an owner/);
  });

  it('claims at a cost that does not grow with settled and parked intents: 20,000 of them, 20 rows looked at', async () => {
    const store = freshStore();
    onTestFinished(() => store.close());
    const pool = testPool();
    const { owner } = await store.enlist();
    const claimable = makeIntent();
    await store.create(claimable);
    // Half settled, half parked for a day; and five in flight under a live owner.
    await pool.query(
      `INSERT INTO "${store.table}" (scope, id, idempotency_key, method, url, origin, headers, key_header, key_format, fingerprint,
         created_at, updated_at, expires_at, attempts, state, owner, lease_until, version)
       SELECT scope, id || '-' || n, idempotency_key, method, url, origin, headers, key_header, key_format, fingerprint,
         created_at, updated_at, expires_at, attempts, CASE WHEN n % 2 = 0 THEN 'succeeded' ELSE 'pending' END, NULL,
         CASE WHEN n % 2 = 0 THEN 0 ELSE (extract(epoch from now()) * 1000)::bigint + 86400000 END, 1
       FROM "${store.table}", generate_series(1, 20000) AS n`,
    );
    for (let i = 0; i < 5; i++) await store.create(makeIntent({ owner, ...HELD }));
    await pool.query(`ANALYZE "${store.table}"`);
    // The store's own claim statement, explained as it runs (and rolled back).
    let plan: PlanNode | undefined;
    const explaining = {
      async query(text: string, values?: unknown[]) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          plan = (await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values)).rows[0]['QUERY PLAN'][0].Plan;
          await client.query('ROLLBACK');
        } finally {
          client.release();
        }
        return { rows: [], rowCount: 0 };
      },
    };
    await new IntentTable(tableName(store.table)).claim(explaining, claimRequest({ limit: 10 }), GRACE_MS);
    const scans = nodes(plan!).filter((node) => (node['Relation Name'] ?? node['Index Name'] ?? '').startsWith(store.table) && /Scan/.test(node['Node Type']));
    const looked = scans.reduce((sum, node) => sum + node['Actual Rows'] * node['Actual Loops'] + (node['Rows Removed by Filter'] ?? 0), 0);
    expect(scans.map((node) => node['Node Type'])).not.toContain('Seq Scan');
    expect(looked).toBeLessThanOrEqual(20);
    // And the claim itself takes the one claimable intent.
    expect((await store.claim(claimRequest({ limit: 10 }))).map((claimed) => claimed.id)).toEqual([claimable.id]);
  }, 60_000);
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function nodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodes)];
}

describe('postgresStore: after a restart of PostgreSQL', () => {
  it('takes no lease that ended while it was down, nor a missing owner, before the server has been up a lease (and for owners, a grace)', async () => {
    const server = await startPostgres();
    onTestFinished(() => server.destroy());
    const table = freshTable();
    const [living, dying, claimant] = Array.from({ length: 3 }, () => postgresStore({ connectionString: server.url, table }));
    onTestFinished(async () => void (await Promise.all([living!.close(), dying!.close(), claimant!.close()])));
    const alive = await living!.enlist();
    const doomed = await dying!.enlist();
    const ofLive = makeIntent({ owner: alive.owner, ...HELD });
    const ofDead = makeIntent({ owner: doomed.owner, ...HELD });
    // A one-second lease nobody renews: it ends while the server is down, or soon after.
    const lapsed = makeIntent({ owner: 'not-enlisted', createdAt: 1_000, leaseUntil: 2_000 });
    for (const intent of [ofLive, ofDead, lapsed]) await claimant!.create(intent);

    await server.stop('immediate');
    // Its process dies while the server is down: its lock never comes back.
    await dying!.close();
    await server.start();

    const LEASE_MS = 3_000;
    const pool = testPool(server.url);
    const since = async () => Number((await pool.query(`SELECT (extract(epoch from clock_timestamp() - pg_postmaster_start_time()) * 1000)::bigint AS up`)).rows[0].up);
    const boot = Number((await pool.query(`SELECT (extract(epoch from pg_postmaster_start_time()) * 1000)::bigint AS boot`)).rows[0].boot);
    const firstLook = await since();
    const takenAt = new Map<string, number>();
    await vi.waitFor(async () => {
      for (const intent of await claimant!.claim(claimRequest({ leaseMs: LEASE_MS }))) takenAt.set(intent.id, intent.updatedAt - boot);
      expect(takenAt.size).toBe(2);
    }, { timeout: 20_000, interval: 50 });
    expect(firstLook).toBeLessThan(LEASE_MS);
    expect(takenAt.get(lapsed.id)).toBeGreaterThanOrEqual(LEASE_MS);
    expect(takenAt.get(ofDead.id)).toBeGreaterThanOrEqual(LEASE_MS + GRACE_MS);
    expect(takenAt.has(ofLive.id)).toBe(false);
    // The live owner came back: its lock is held again, by a session of the new server.
    expect(await presenceBackends(pool, alive.owner)).not.toEqual([]);
    expect((await claimant!.claim(claimRequest())).map((intent) => intent.id)).toEqual([]);
  }, 60_000);
});
