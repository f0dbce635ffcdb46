import pg from 'pg';
import { describe, expect, inject, it, onTestFinished, vi } from 'vitest';
import { seededRandom } from '../src/testing.js';
import { startPostgres } from '../support/postgres.js';
import { freshTable, testPool } from './support/postgres-tables.js';
import { type Run, runFixture, untilLines } from './support/processes.js';
import { type RecordedRequest, startRecordingServer } from './support/recording-server.js';

const TSX = ['--import', 'tsx'];
const now = () => performance.timeOrigin + performance.now();

/** A replica process on `table` (test/fixtures/pg-replica.ts), killed when the test ends if it still runs. */
function replica(pgUrl: string, table: string, serverUrl: string, ...args: string[]): Run {
  const run = runFixture('pg-replica.ts', [pgUrl, table, serverUrl, ...args], { nodeArgs: TSX });
  onTestFinished(() => void run.child.kill('SIGKILL'));
  return run;
}

/** A connection of the test's own, ended when the test ends. */
async function testClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  onTestFinished(() => client.end().catch(() => {}));
  return client;
}

/** The states of every intent in `table`, by key (read straight from the table). */
async function statesByKey(db: pg.Pool | pg.Client, table: string): Promise<Map<string, string>> {
  const { rows } = await db.query(`SELECT idempotency_key, state FROM "${table}"`);
  return new Map(rows.map((row) => [row.idempotency_key as string, row.state as string]));
}

/** Resolves once `check` passes, looking every 50 ms for up to `timeout` (the database may be restarting meanwhile). */
function until(check: () => Promise<void>, timeout = 30_000): Promise<void> {
  return vi.waitFor(check, { timeout, interval: 50 });
}

describe('a replica killed with SIGKILL while its request is open', () => {
  it("is taken over by another replica's relay, at its default poll, within 2 s: applied once, never two requests at once", async () => {
    const pgUrl = inject('postgresUrl');
    const table = freshTable();
    const ROUNDS = 3;
    let victim: Run | undefined;
    const killedAt = new Map<string, number>();
    // Deduplicating, as the APIs called are: the first request is applied and answered 300 ms
    // later, its sender long dead by then; the resend gets that answer again.
    const server = await startRecordingServer({
      dedupe: true,
      hold: (request) => (killedAt.has(request.key) ? 0 : 300),
      onArrival(request) {
        if (killedAt.has(request.key)) return;
        victim!.child.kill('SIGKILL');
        killedAt.set(request.key, now());
      },
    });
    onTestFinished(() => server.close());
    // The default lease (30 s) and the default poll (1 s): only the owner's death can explain a prompt resend.
    const relay = replica(pgUrl, table, server.url, 'relay', '30000');
    await untilLines(relay, 1);

    const resentAfter: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const key = `killed-${round}`;
      victim = replica(pgUrl, table, server.url, 'call', '30000', key);
      expect((await victim.exited).signal).toBe('SIGKILL');
      await until(async () => expect(server.requests.filter((request) => request.key === key && request.outcome === 'replayed')).toHaveLength(1));
      const [first, resend] = server.requests.filter((request) => request.key === key) as [RecordedRequest, RecordedRequest];
      expect(first.sender).toBe(String(victim.child.pid));
      expect(resend.sender).toBe(String(relay.child.pid));
      resentAfter.push(resend.arrivedAt - killedAt.get(key)!);
    }
    await server.idle();
    for (let round = 0; round < ROUNDS; round++) expect(server.applied(`killed-${round}`)).toBe(1);
    expect(server.overlapping()).toEqual([]);
    expect(server.requests).toHaveLength(2 * ROUNDS);
    expect(Math.max(...resentAfter), `resent after ${resentAfter.map(Math.round).join(', ')} ms`).toBeLessThan(2_000);
    const db = testPool(pgUrl);
    await until(async () => expect([...(await statesByKey(db, table)).values()]).toEqual(Array(ROUNDS).fill('succeeded')));
  }, 120_000);
});

describe('PostgreSQL stopped for longer than the lease while a call is in flight, a relay running in another process', () => {
  it('the server, which does not deduplicate, sees the key once and never two requests at once: 4 runs', async () => {
    const database = await startPostgres();
    onTestFinished(() => database.destroy());
    const LEASE_MS = 1_000;
    const OUTAGE_MS = 3_000;
    // A pool: its connections end with the server, and it makes new ones after.
    const db = testPool(database.url);
    for (let run = 0; run < 4; run++) {
      const table = freshTable();
      const key = `outage-${run}`;
      let arrived!: () => void;
      const sent = new Promise<void>((resolve) => (arrived = resolve));
      let answer!: () => void;
      const answered = new Promise<void>((resolve) => (answer = resolve));
      const server = await startRecordingServer({ hold: () => answered, onArrival: () => arrived() });
      const relay = replica(database.url, table, server.url, 'relay', String(LEASE_MS), '100');
      await untilLines(relay, 1);
      const caller = replica(database.url, table, server.url, 'call', String(LEASE_MS), key);
      await sent;

      await database.stop('immediate');
      // The outage: three leases long, every lease on the database clock ends during it.
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      await database.start();
      // Back for three leases: a relay that took the ended lease (or the owner's missing lock) for a
      // dead owner would have claimed and sent by now, while the caller's request is still open.
      await until(async () => expect(await upMs(db)).toBeGreaterThanOrEqual(3 * LEASE_MS));
      answer();
      expect(await untilLines(caller, 2)).toEqual(['ready', 'done 201']);
      await until(async () => expect((await statesByKey(db, table)).get(key)).toBe('succeeded'));
      relay.child.kill('SIGKILL');
      await relay.exited;
      await server.idle();
      expect(server.requests.map((request) => [request.key, request.sender])).toEqual([[key, String(caller.child.pid)]]);
      expect(server.overlapping()).toEqual([]);
      await server.close();
    }
  }, 240_000);
});

describe('every PostgreSQL connection killed every 700 ms', () => {
  it('4 replicas making 300 calls and 2 relaying, against a server that does not deduplicate: each key applied once, never two at once, every call settled', async () => {
    const database = await startPostgres();
    onTestFinished(() => database.destroy());
    const table = freshTable();
    const KEYS_EACH = 75;
    // Long enough that an owner whose writes keep failing under the kills does not outlive it:
    // only a dead owner (or one that gave up) lets a relay take a key over.
    const LEASE_MS = 10_000;
    const random = seededRandom(700);
    const server = await startRecordingServer({ hold: () => Math.floor(random() * 500) });
    onTestFinished(() => server.close());
    const relays = [0, 1].map(() => replica(database.url, table, server.url, 'relay', String(LEASE_MS), '200'));
    await Promise.all(relays.map((run) => untilLines(run, 1)));

    // Every backend but the killer's own, as an operator's pg_terminate_backend loop would.
    const killer = await testClient(database.url);
    let terminated = 0;
    let rounds = 0;
    const kill = setInterval(() => {
      rounds++;
      killer
        .query(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`)
        .then(({ rows }) => (terminated += rows[0].n as number), () => {});
    }, 700);
    onTestFinished(() => clearInterval(kill));

    const workers = [0, 1, 2, 3].map((w) => replica(database.url, table, server.url, 'calls', `w${w}`, String(KEYS_EACH), String(LEASE_MS)));
    const results = await Promise.all(workers.map((run) => run.exited));
    clearInterval(kill);
    for (const { code, stderr } of results) expect(code, stderr).toBe(0);
    for (const run of workers) expect(run.lines).toEqual(['done']);

    const db = testPool(database.url);
    await until(async () => {
      const states = await statesByKey(db, table);
      expect(states.size).toBe(4 * KEYS_EACH);
      expect([...states.values()].filter((state) => state !== 'succeeded')).toEqual([]);
    });
    for (const run of relays) run.child.kill('SIGKILL');
    await Promise.all(relays.map((run) => run.exited));
    await server.idle();

    expect(rounds).toBeGreaterThan(5);
    expect(terminated).toBeGreaterThan(rounds);
    expect(server.appliedTwice()).toEqual([]);
    expect(server.overlapping()).toEqual([]);
    for (let w = 0; w < 4; w++) for (let n = 0; n < KEYS_EACH; n++) expect(server.applied(`w${w}-${n}`), `w${w}-${n}`).toBe(1);
    expect(server.requests).toHaveLength(4 * KEYS_EACH);
    // The enqueued third went out through the relays, both of them.
    const relayed = server.requests.filter((request) => Number(request.key.split('-')[1]) % 3 === 2);
    expect(relayed).toHaveLength((4 * KEYS_EACH) / 3);
    expect(new Set(relayed.map((request) => request.sender))).toEqual(new Set(relays.map((run) => String(run.child.pid))));
  }, 300_000);
});

/** How long the database has been up, ms, on its own clock. */
async function upMs(db: pg.Pool): Promise<number> {
  const { rows } = await db.query(`SELECT (extract(epoch from clock_timestamp() - pg_postmaster_start_time()) * 1000)::bigint AS up`);
  return Number(rows[0].up);
}
