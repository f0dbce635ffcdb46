import { describe, expect, inject, it } from 'vitest';
import { createClient, IdempotencyStoreError } from '../src/index.node.js';
import { postgresStore } from '../src/postgres.js';
import { redisStore } from '../src/redis.js';
import type { IntentStore } from '../src/index.js';
import { seededRandom } from '../src/testing.js';
import { startPostgres } from '../support/postgres.js';
import { freshTable } from './support/postgres-tables.js';
import { type Run, runFixture, untilLines } from './support/processes.js';
import { type RecordingServer, startRecordingServer } from './support/recording-server.js';
import { freshKeyPrefix, useRedisServer } from './support/redis.js';

const TSX = ['--import', 'tsx'];
const PAYOUTS = 200;
const redis = useRedisServer();

/**
 * Four workers (writing payouts `0..199` and relaying) and a relay on one journal, against a
 * deduplicating server; one member SIGKILLed at a random instant and restarted, six times; then
 * the survivors drain the outbox. Returns the server to assert on.
 */
async function crashFleet(storeUrl: string, namespace: string, watcherStore: () => IntentStore): Promise<RecordingServer> {
  const random = seededRandom(2026);
  const server = await startRecordingServer({ dedupe: true, hold: () => Math.floor(random() * 40) });
  const members = new Map<string, { args: string[]; run: Run }>();
  const start = (name: string, args: string[]) => {
    const run = runFixture('fleet-member.ts', [storeUrl, namespace, server.url, ...args], { nodeArgs: TSX });
    members.set(name, { args, run });
    return run;
  };
  const quarter = PAYOUTS / 4;
  for (let w = 0; w < 4; w++) start(`worker-${w}`, ['worker', String(w * quarter), String((w + 1) * quarter - 1)]);
  start('relay', ['relay']);
  await Promise.all([...members.values()].map(({ run }) => untilLines(run, 1)));

  for (let round = 0; round < 6; round++) {
    // Kill one member at a random instant (a crash is not polite), and start it again.
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 400)));
    const names = [...members.keys()];
    const name = names[Math.floor(random() * names.length)]!;
    const { args, run } = members.get(name)!;
    run.child.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');
    await untilLines(start(name, args), 1);
  }
  // Every worker wrote all its payouts (a restarted one finishes its range).
  await Promise.all([...members.entries()].filter(([name]) => name.startsWith('worker')).map(([, { run }]) => untilLines(run, 2)));
  // The survivors drain the outbox, dead members' leases included.
  const watcher = createClient({ prefix: server.url, store: watcherStore() });
  await untilNothingPending(watcher);
  for (const { run } of members.values()) run.child.kill('SIGKILL');
  await Promise.all([...members.values()].map(({ run }) => run.exited));
  await watcher.close();
  await server.idle();
  return server;
}

describe('a fleet killed at random and restarted: 4 workers and a relay', () => {
  it('on PostgreSQL, payouts written in transactions: every committed one paid once, no rolled-back one ever, never two senders at once', async () => {
    const table = freshTable();
    const server = await crashFleet(inject('postgresUrl'), table, () => postgresStore({ connectionString: inject('postgresUrl'), table }));
    for (let id = 0; id < PAYOUTS; id++) expect(server.applied(`payout-${id}`), `payout-${id}`).toBe(id % 2 === 0 ? 1 : 0);
    expect(server.requests.filter((request) => Number(request.key.split('-')[1]) % 2 === 1)).toEqual([]);
    expect(server.overlapping()).toEqual([]);
    await server.close();
  }, 180_000);

  it('on Redis: every payout paid once, never two senders at once', async () => {
    const keyPrefix = freshKeyPrefix();
    const server = await crashFleet(redis().url, keyPrefix, () => redisStore({ url: redis().url, keyPrefix }));
    for (let id = 0; id < PAYOUTS; id++) expect(server.applied(`payout-${id}`), `payout-${id}`).toBe(1);
    expect(server.overlapping()).toEqual([]);
    await server.close();
  }, 180_000);
});

describe('live replicas on one PostgreSQL, against a server that does not deduplicate', () => {
  it('three relays and a writer: no key is ever sent twice', async () => {
    const pgUrl = inject('postgresUrl');
    const table = freshTable();
    const server = await startRecordingServer({ hold: () => 5 });
    const relays = Array.from({ length: 3 }, () => runFixture('fleet-member.ts', [pgUrl, table, server.url, 'relay'], { nodeArgs: TSX }));
    await Promise.all(relays.map((run) => untilLines(run, 1)));
    const writer = runFixture('fleet-member.ts', [pgUrl, table, server.url, 'worker', '0', String(PAYOUTS - 1)], { nodeArgs: TSX });
    await untilLines(writer, 2);
    const watcher = createClient({ prefix: server.url, store: postgresStore({ connectionString: pgUrl, table }) });
    await untilNothingPending(watcher);
    for (const run of [...relays, writer]) run.child.kill('SIGKILL');
    await watcher.close();
    await server.idle();
    expect(server.appliedTwice()).toEqual([]);
    expect(server.overlapping()).toEqual([]);
    expect(server.requests).toHaveLength(PAYOUTS / 2);
    // Sending was shared: more than one replica took part.
    expect(new Set(server.requests.map((request) => request.sender)).size).toBeGreaterThan(1);
    await server.close();
  }, 120_000);
});

describe('PostgreSQL stopped mid-run and started again', () => {
  it('calls fail with IdempotencyStoreError and send nothing while it is down; the relay resumes by itself; nothing is lost', async () => {
    const database = await startPostgres();
    // Deduplicating, as the APIs we call are: the relay may be sending `before` as PostgreSQL goes
    // down, and then its outcome cannot be written; after its lease the intent is resent, once more
    // under its key — that is what the key is for.
    const server = await startRecordingServer({ dedupe: true });
    const api = createClient({ prefix: server.url, store: postgresStore({ connectionString: database.url, table: freshTable() }), retry: 0, leaseMs: 1_000 });
    const stop = new AbortController();
    const relay = api.relay({ signal: stop.signal, pollMs: 100 });
    try {
      await api.enqueue('POST', 'v1/payouts', { json: { n: 1 }, idempotencyKey: 'before' });
      await database.stop('immediate');
      const down = await api.post('v1/payouts', { json: { n: 2 }, idempotencyKey: 'while-down' }).catch((error: unknown) => error);
      expect(down).toBeInstanceOf(IdempotencyStoreError);
      expect((down as Error).message).toMatch(/nothing was sent/);
      await expect(api.enqueue('POST', 'v1/payouts', { json: { n: 3 }, idempotencyKey: 'enqueued-while-down' })).rejects.toBeInstanceOf(IdempotencyStoreError);
      await database.start();
      await api.enqueue('POST', 'v1/payouts', { json: { n: 4 }, idempotencyKey: 'after' });
      await untilNothingPending(api);
      expect([...new Set(server.requests.map((request) => request.key))].sort()).toEqual(['after', 'before']);
      expect([server.applied('before'), server.applied('after')]).toEqual([1, 1]);
      expect(server.overlapping()).toEqual([]);
    } finally {
      stop.abort();
      await relay;
      await api.close();
      await server.close();
      await database.destroy();
    }
  }, 60_000);
});

/** Resolves once the journal has nothing pending: what a relay leaves when its work is done. */
function untilNothingPending(client: ReturnType<typeof createClient>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const look = setInterval(async () => {
      try {
        if ((await client.pending()).length > 0) return;
        clearInterval(look);
        resolve();
      } catch (error) {
        if (!(error instanceof IdempotencyStoreError) && !String(error).includes('postgres')) {
          clearInterval(look);
          reject(error);
        }
      }
    }, 100);
  });
}
