import { createClient as createRedisClient } from 'redis';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { IdempotencyStoreError, createClient } from '../src/index.node.js';
import { redisStore } from '../src/redis.js';
import { type Run, runFixture, untilLines } from './support/processes.js';
import { type RecordingServer, startRecordingServer } from './support/recording-server.js';
import { freshKeyPrefix, startRedisServer, useRedisServer } from './support/redis.js';

const redis = useRedisServer();
let api: RecordingServer;

beforeEach(async () => {
  api = await startRecordingServer();
});
afterEach(() => api.close());

/** `count` replicas relaying from the Redis journal under `keyPrefix`, each in its own process, started and subscribed. */
async function startRelays(count: number, keyPrefix: string, pollMs: number): Promise<Run[]> {
  const relays = Array.from({ length: count }, () =>
    runFixture('redis-relay.ts', [api.url, redis().url, keyPrefix, String(pollMs)], { nodeArgs: ['--import', 'tsx'], stdin: true }),
  );
  onTestFinished(async () => {
    for (const relay of relays) relay.child.kill('SIGKILL');
  });
  await Promise.all(relays.map((relay) => untilLines(relay, 1)));
  await untilSubscribed(`${keyPrefix}claimable`, count);
  return relays;
}

async function stopRelays(relays: Run[]): Promise<void> {
  for (const relay of relays) relay.child.stdin?.write('stop\n');
  for (const relay of relays) {
    const { code, stderr } = await relay.exited;
    expect(code, stderr).toBe(0);
  }
}

/** The app: enqueues payouts into the shared journal and sends nothing itself. */
function enqueuer(keyPrefix: string) {
  const client = createClient({ prefix: api.url, store: redisStore({ url: redis().url, keyPrefix }) });
  onTestFinished(() => client.close());
  return client;
}

async function untilSubscribed(channel: string, count: number): Promise<void> {
  const client = await createRedisClient({ url: redis().url }).on('error', () => {}).connect();
  try {
    while (Number(((await client.sendCommand(['PUBSUB', 'NUMSUB', channel])) as unknown[])[1]) < count) await sleep(10);
  } finally {
    client.destroy();
  }
}

async function untilRequests(count: number): Promise<void> {
  while (api.requests.length < count) await sleep(10);
  await api.idle();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('enqueue on one client, relay() on replicas sharing a Redis store', () => {
  it('sends each of 40 enqueued payouts exactly once across two relaying processes', async () => {
    const keyPrefix = freshKeyPrefix();
    const relays = await startRelays(2, keyPrefix, 100);
    const app = enqueuer(keyPrefix);
    const keys = await Promise.all(Array.from({ length: 40 }, (_, i) => app.enqueue('POST', 'payouts', { json: { payout: i } })));
    await untilRequests(40);
    await stopRelays(relays);
    expect(api.requests.map((request) => request.key).sort()).toEqual(keys.map(({ idempotencyKey }) => idempotencyKey).sort());
    expect(api.appliedTwice()).toEqual([]);
    await expect(app.pending()).resolves.toEqual([]);
  }, 60_000);

  it('wakes an idle relay as soon as an intent is enqueued, long before its next poll', async () => {
    const keyPrefix = freshKeyPrefix();
    const relays = await startRelays(2, keyPrefix, 60_000);
    const app = enqueuer(keyPrefix);
    const started = performance.now();
    const { idempotencyKey } = await app.enqueue('POST', 'payouts', { json: { payout: 1 } });
    await untilRequests(1);
    expect(performance.now() - started).toBeLessThan(10_000);
    await stopRelays(relays);
    expect(api.requests.map((request) => request.key)).toEqual([idempotencyKey]);
  }, 60_000);
});

describe('a client on a Redis store', () => {
  it('fails a call with IdempotencyStoreError, sending nothing, on a Redis that does not fsync every write', async () => {
    const plain = await startRedisServer({ aof: false });
    onTestFinished(() => plain.stop());
    const client = createClient({ prefix: api.url, store: redisStore({ url: plain.url, keyPrefix: freshKeyPrefix() }) });
    onTestFinished(() => client.close());
    const error = await client.post('payouts', { json: { payout: 1 } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdempotencyStoreError);
    expect((error as Error).message).toContain('appendfsync always');
    expect(api.requests).toEqual([]);
  });
});
