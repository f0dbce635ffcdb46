import { createClient as createRedisClient } from 'redis';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { IdempotencyStoreError, createClient } from '../src/index.node.js';
import { redisStore } from '../src/redis.js';
import { CLAIM } from '../src/stores/redis/scripts.js';
import { seededRandom } from '../src/testing/bytes.js';
import { type Run, runFixture, untilLines } from './support/processes.js';
import { type RecordedRequest, type RecordingServer, type RecordingServerOptions, startRecordingServer } from './support/recording-server.js';
import { freshKeyPrefix, startRedisServer, useRedisServer } from './support/redis.js';
import { startRedisProxy } from './support/redis-proxy.js';

const redis = useRedisServer();
let api: RecordingServer;

beforeEach(async () => {
  api = await startRecordingServer();
});
afterEach(() => api.close());

/** `count` replicas relaying from the Redis journal under `keyPrefix`, each in its own process, started and subscribed. */
async function startRelays(count: number, keyPrefix: string, pollMs: number, redisUrl = redis().url, leaseMs?: number): Promise<Run[]> {
  const args = [api.url, redisUrl, keyPrefix, String(pollMs), ...(leaseMs === undefined ? [] : [String(leaseMs)])];
  const relays = Array.from({ length: count }, () => runFixture('redis-relay.ts', args, { nodeArgs: ['--import', 'tsx'], stdin: true }));
  onTestFinished(async () => {
    for (const relay of relays) relay.child.kill('SIGKILL');
  });
  await Promise.all(relays.map((relay) => untilLines(relay, 1)));
  await untilSubscribed(`${keyPrefix}claimable`, count, redisUrl);
  return relays;
}

/** The API of the test, replaced by one with these options; `nextArrival()` resolves with the next request to arrive. */
async function recordingApi(options: RecordingServerOptions = {}) {
  const waiting: ((request: RecordedRequest) => void)[] = [];
  await api.close();
  api = await startRecordingServer({ ...options, onArrival: (request) => waiting.splice(0).forEach((arrived) => arrived(request)) });
  return { nextArrival: () => new Promise<RecordedRequest>((resolve) => waiting.push(resolve)) };
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

async function untilSubscribed(channel: string, count: number, redisUrl = redis().url): Promise<void> {
  const client = await createRedisClient({ url: redisUrl }).on('error', () => {}).connect();
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
/** The recording server's clock. */
const now = () => performance.timeOrigin + performance.now();

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

describe('a replica killed mid-send', () => {
  it("has its intent resent by another replica within 2 s of its death, with the default pollMs, and applied once", async ({ annotate }) => {
    // An API that deduplicates: the dead replica's request ran, and the resend gets its answer. The
    // first request is held open (its answer comes 2.5 s later) so that the replica dies mid-send.
    let requests = 0;
    const { nextArrival } = await recordingApi({ dedupe: true, hold: () => (requests++ === 0 ? 2_500 : 0) });
    const keyPrefix = freshKeyPrefix();
    const relays = await startRelays(2, keyPrefix, 1_000);
    const app = enqueuer(keyPrefix);
    const sent = nextArrival();
    const { idempotencyKey } = await app.enqueue('POST', 'payouts', { json: { payout: 1 } });
    const first = await sent;
    const sender = relays.find((relay) => String(relay.child.pid) === first.sender)!;
    const resent = nextArrival();
    const killedAt = now();
    sender.child.kill('SIGKILL');
    const second = await resent;
    const latency = second.arrivedAt - killedAt;
    await annotate(`resent ${Math.round(latency)} ms after the SIGKILL`);
    expect(second.sender).not.toBe(first.sender);
    expect(latency).toBeLessThan(2_000);

    await expect.poll(() => app.pending(), { timeout: 20_000 }).toEqual([]);
    await api.idle();
    await stopRelays(relays.filter((relay) => relay !== sender));
    expect(api.applied(idempotencyKey)).toBe(1);
    // The dead replica's request ended with its process: never two open for the key.
    expect(api.overlapping()).toEqual([]);
  }, 60_000);
});

describe('Redis restarted', () => {
  it('in the middle of a claim, ten times over: no payout is applied twice', async ({ annotate }) => {
    // An API that does NOT deduplicate, holding each answer a little so that claims meet sends in flight.
    await recordingApi({ hold: () => 300 });
    const own = await startRedisServer();
    onTestFinished(() => own.stop());
    const proxy = await startRedisProxy(own.url);
    onTestFinished(() => proxy.close());
    const random = seededRandom(17);
    const leaseMs = 1_000;
    const runs: string[] = [];
    for (let run = 0; run < 10; run++) {
      const keyPrefix = freshKeyPrefix();
      const app = createClient({ prefix: api.url, store: redisStore({ url: own.url, keyPrefix }) });
      const keys = await Promise.all(Array.from({ length: 6 }, (_, payout) => app.enqueue('POST', 'payouts', { json: { run, payout } })));
      // The 1st, 2nd or 3rd claim from now is caught: kept from Redis, or run by Redis with its
      // answer lost. Redis comes back at once, or after longer than the lease.
      const when = random() < 0.5 ? 'before' : 'after';
      const nth = 1 + Math.floor(random() * 3);
      const downMs = random() < 0.5 ? 0 : leaseMs + 500;
      runs.push(`${when} claim ${nth}, down ${downMs} ms`);
      const caught = proxy.trap(CLAIM.sha, when, nth);
      const stop = new AbortController();
      // Two relays: one on a store that opened its own connection, one on a client it was given,
      // whose offline queue holds commands while Redis is away (node-redis's default).
      const given = createRedisClient({ url: proxy.url }).on('error', () => {});
      const relays = [redisStore({ url: proxy.url, keyPrefix }), redisStore({ client: given, keyPrefix })].map((store, i) =>
        createClient({ prefix: api.url, store, leaseMs, headers: { 'x-sender': `relay-${i}` } }),
      );
      const relaying = relays.map((relay) => relay.relay({ signal: stop.signal, pollMs: 100, concurrency: 2 }));
      await caught;
      await own.crash();
      if (downMs > 0) await sleep(downMs);
      await own.restart();
      await expect.poll(() => app.pending().catch(() => 'Redis not back yet'), { timeout: 30_000, interval: 100 }).toEqual([]);
      stop.abort();
      await Promise.all(relaying);
      await Promise.all([...relays, app].map((client) => client.close()));
      given.destroy();
      await api.idle();
      for (const { idempotencyKey } of keys) expect(api.applied(idempotencyKey), `run ${run} (${runs[run]}), key ${idempotencyKey}`).toBe(1);
    }
    await annotate(`runs: ${runs.join('; ')}. ${api.requests.length} requests for 60 payouts`);
    expect(api.requests).toHaveLength(60);
    expect(api.appliedTwice()).toEqual([]);
    expect(api.overlapping()).toEqual([]);
  }, 240_000);

  it('after being down longer than the lease while a call is in flight: a relay in another process leaves it to its owner', async () => {
    // The call's request stays open until the test lets it end; the API does NOT deduplicate.
    let answer = () => {};
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const { nextArrival } = await recordingApi({ hold: () => answered });
    const own = await startRedisServer();
    onTestFinished(() => own.stop());
    // The owner reaches Redis through a proxy: its way back after the restart takes a second longer than the relay's.
    const proxy = await startRedisProxy(own.url);
    onTestFinished(() => proxy.close());
    const keyPrefix = freshKeyPrefix();
    const leaseMs = 4_000;
    const [relay] = await startRelays(1, keyPrefix, 100, own.url, leaseMs);
    const store = redisStore({ url: proxy.url, keyPrefix });
    // No attempt timeout: the request is meant to stay open as long as the test holds it.
    const client = createClient({ prefix: api.url, store, leaseMs, timeout: false, totalTimeout: false });
    onTestFinished(() => client.close());

    const arrived = nextArrival();
    const call = client.post('payouts', { json: { payout: 1 } });
    const { key } = await arrived;
    proxy.block(true);
    await own.crash();
    // Redis stays away longer than the lease: the lease it holds has ended when it comes back.
    await sleep(leaseMs + 1_000);
    await own.restart();
    const raw = await createRedisClient({ url: own.url }).on('error', () => {}).connect();
    onTestFinished(() => raw.destroy());
    const [seconds] = (await raw.sendCommand(['TIME'])) as string[];
    const restartedAt = Number(seconds) * 1000;
    await sleep(1_000);
    proxy.block(false);
    // The owner renews its lease once it is back; the request stays open until the restart guard is
    // long over, the relay claiming ten times a second meanwhile.
    const [pending] = await client.pending();
    await expect.poll(async () => (await store.get(pending!.scope, pending!.id))?.updatedAt ?? 0, { timeout: 10_000 }).toBeGreaterThan(restartedAt);
    await expect.poll(async () => uptimeSeconds(raw), { timeout: 20_000, interval: 200 }).toBeGreaterThan(leaseMs / 1000 + 2);
    expect(api.requests).toHaveLength(1);
    answer();
    expect((await call).status).toBe(201);
    await expect.poll(() => client.pending()).toEqual([]);
    await stopRelays([relay!]);
    expect(api.requests.map((request) => request.key)).toEqual([key]);
    expect(api.applied(key)).toBe(1);
    expect(api.overlapping()).toEqual([]);
  }, 90_000);
});

/** The server's uptime_in_seconds. */
async function uptimeSeconds(client: { sendCommand(args: string[]): Promise<unknown> }): Promise<number> {
  const info = String(await client.sendCommand(['INFO', 'server']));
  return Number(/uptime_in_seconds:(\d+)/.exec(info)?.[1]);
}

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
