import { RESP_TYPES, createClient } from 'redis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { redisStore } from '../../src/redis.js';
import type { RedisStore } from '../../src/stores/redis.js';
import { intentFields } from '../../src/stores/redis/records.js';
import type { Intent, IntentStore } from '../../src/stores/store.js';
import { claimRequest, describeIntentStore, everyByteValue, makeIntent, timeless } from '../../src/testing.js';
import { sameBytes } from '../../src/testing/bytes.js';
import { runFixture, startClaimantProcess, untilLines } from '../support/processes.js';
import { freshKeyPrefix, startRedisServer, useRedisServer } from '../support/redis.js';

const server = useRedisServer();

/** A raw connection beside the store's, as another program or a newer version would use. */
async function rawClient(url = server().url) {
  const client = await createClient({ url }).on('error', () => {}).connect();
  onTestFinished(() => client.destroy());
  return client;
}

/** The intent's hash, where scripts.ts files it. */
function intentKey(store: RedisStore, intent: Pick<Intent, 'scope' | 'id'>): string {
  return `${store.keyPrefix}intent:${Buffer.byteLength(intent.scope)}:${intent.scope}:${intent.id}`;
}

/** Stores `intent` as created, then gives it its (unknown) state behind the store's back. */
async function plantUnknown(store: IntentStore, intent: Intent): Promise<void> {
  await store.create({ ...intent, state: 'pending' });
  const client = await rawClient();
  await client.hSet(intentKey(store as RedisStore, intent), 'state', intent.state);
}

/** Stores `intent` as created, then writes `value` into its `field` behind the store's back, as a program writing by hand would. */
async function plantDamaged(store: IntentStore, intent: Intent, field: string, value: number | string): Promise<void> {
  await store.create(intent);
  const client = await rawClient();
  await client.hSet(intentKey(store as RedisStore, intent), field, typeof value === 'number' ? BigInt(value).toString() : value);
}

/**
 * An owner enlisted by another process, which is then SIGKILLed, as a replica dies: resolves once
 * claimants see it gone (its presence away for the grace), which a probe intent it holds shows.
 */
async function killedOwner(store: IntentStore): Promise<string> {
  const { keyPrefix } = store as RedisStore;
  const child = runFixture('enlisted-owner.ts', ['redis', server().url, keyPrefix], { nodeArgs: ['--import', 'tsx'] });
  const [owner] = await untilLines(child, 1);
  child.child.kill('SIGKILL');
  await child.exited;
  const probe = makeIntent({ scope: 'dead-owner-probe', owner: owner!, createdAt: 1_000, leaseUntil: 1_000 + 60 * 60 * 1000 });
  await store.create(probe);
  const request = claimRequest({ scope: probe.scope, id: probe.id, owner: 'prober' });
  await expect.poll(async () => (await store.claim(request)).length, { interval: 50, timeout: 10_000 }).toBe(1);
  return owner!;
}

describeIntentStore('redisStore', () => redisStore({ url: server().url, keyPrefix: freshKeyPrefix() }), {
  plantUnknown,
  plantDamaged,
  processes: { count: 4, startClaimant: (store, request) => startClaimantProcess(['redis', server().url, (store as RedisStore).keyPrefix], request) },
  // An owner lives by its store's presence connection: a process that enlisted and was killed is gone.
  deadOwner: killedOwner,
});

describe('redisStore durability', () => {
  it('refuses a Redis without AOF, saying what to configure', async () => {
    const plain = await startRedisServer({ aof: false });
    onTestFinished(() => plain.stop());
    const store = redisStore({ url: plain.url, keyPrefix: freshKeyPrefix() });
    onTestFinished(() => store.close());
    await expect(store.create(makeIntent())).rejects.toThrow(/appendonly no, appendfsync everysec.*"appendonly yes" and "appendfsync always"/);
    await expect(store.list()).rejects.toThrow("durability: 'best-effort'");
  });

  it('works on a Redis without AOF when durability is best-effort', async () => {
    const plain = await startRedisServer({ aof: false });
    onTestFinished(() => plain.stop());
    const store = redisStore({ url: plain.url, keyPrefix: freshKeyPrefix(), durability: 'best-effort' });
    onTestFinished(() => store.close());
    const intent = makeIntent();
    await expect(store.create(intent)).resolves.toBeUndefined();
    expect(timeless((await store.get(intent.scope, intent.id))!)).toEqual(timeless(intent));
  });

  it('refuses when CONFIG is disabled, because it cannot check', async () => {
    const managed = await startRedisServer({ config: false });
    onTestFinished(() => managed.stop());
    const store = redisStore({ url: managed.url, keyPrefix: freshKeyPrefix() });
    onTestFinished(() => store.close());
    await expect(store.list()).rejects.toThrow(/could not check.*CONFIG GET failed/);
  });
});

describe('redisStore', () => {
  it('round-trips a 32 MiB body of every byte value exactly', async () => {
    const store = redisStore({ url: server().url, keyPrefix: freshKeyPrefix() });
    onTestFinished(() => store.close());
    const body = everyByteValue(32 * 1024 * 1024 / 256);
    const intent = makeIntent({ body });
    await store.create(intent);
    const got = await store.get(intent.scope, intent.id);
    expect(got!.body!.byteLength).toBe(32 * 1024 * 1024);
    expect(sameBytes(got!.body!, body)).toBe(true);
  });

  it('uses a client it is given, connecting it, and leaves it open when closed', async () => {
    const client = createClient({ url: server().url }).on('error', () => {});
    onTestFinished(() => client.destroy());
    const store = redisStore({ client, keyPrefix: freshKeyPrefix() });
    const intent = makeIntent();
    await store.create(intent);
    await store.close();
    expect(client.isReady).toBe(true);
    expect(timeless((await redisStore({ client, keyPrefix: store.keyPrefix }).get(intent.scope, intent.id))!)).toEqual(timeless(intent));
  });

  it('refuses a body over maxBodyBytes before sending anything', async () => {
    const store = redisStore({ url: server().url, keyPrefix: freshKeyPrefix(), maxBodyBytes: 10 });
    onTestFinished(() => store.close());
    const intent = makeIntent({ body: new Uint8Array(11) });
    await expect(store.create(intent)).rejects.toThrow('The request body is 11 bytes; the redis store keeps at most 10');
    await expect(store.list()).resolves.toEqual([]);
  });
});

describe('redisStore and the Redis server', () => {
  it('keeps a resolved write through a crash of Redis, and answers again once it is back', async () => {
    const own = await startRedisServer();
    onTestFinished(() => own.stop());
    const store = redisStore({ url: own.url, keyPrefix: freshKeyPrefix() });
    onTestFinished(() => store.close());
    const intent = makeIntent();
    await store.create(intent);
    await own.crash();
    await expect(store.get(intent.scope, intent.id)).rejects.toThrow();
    await own.restart();
    await expect.poll(() => store.get(intent.scope, intent.id).then((got) => got && timeless(got)).catch(() => 'down'), { timeout: 10_000 }).toEqual(timeless(intent));
  });

  it('fails a call at once while Redis is unreachable, with the cause', async () => {
    const own = await startRedisServer();
    const { url } = own;
    await own.stop();
    const store = redisStore({ url, keyPrefix: freshKeyPrefix() });
    onTestFinished(() => store.close());
    await expect(store.create(makeIntent())).rejects.toThrow('ECONNREFUSED');
  });

  it('sends a script again when Redis has forgotten it', async () => {
    const store = redisStore({ url: server().url, keyPrefix: freshKeyPrefix() });
    onTestFinished(() => store.close());
    const intent = makeIntent();
    await store.create(intent);
    await (await rawClient()).scriptFlush();
    expect(timeless((await store.get(intent.scope, intent.id))!)).toEqual(timeless(intent));
  });
});

describe('redisStore watch', () => {
  it('is called when another connection enqueues an intent nobody owns, and when an owner releases one', async () => {
    const keyPrefix = freshKeyPrefix();
    const watching = redisStore({ url: server().url, keyPrefix });
    const writer = redisStore({ url: server().url, keyPrefix });
    onTestFinished(async () => {
      await Promise.all([watching.close(), writer.close()]);
    });
    let calls = 0;
    let called = () => {};
    const stop = watching.watch(() => {
      calls++;
      called();
    });
    const next = () => new Promise<void>((resolve) => (called = resolve));
    await writer.list(); // the subscriber connects meanwhile
    await waitForSubscriber(keyPrefix);

    let woken = next();
    await writer.create(makeIntent());
    await woken;
    expect(calls).toBe(1);

    const owned = makeIntent({ owner: 'caller', createdAt: 1_000, leaseUntil: 31_000 });
    await writer.create(owned); // owned: nobody else should take it
    woken = next();
    await writer.update(owned.scope, owned.id, 1, { owner: null, leaseMs: 0 });
    await woken;
    expect(calls).toBe(2);
    await stop();
  });

  it('keeps watching after its connection drops, and reports the reconnection as a change', async () => {
    const keyPrefix = freshKeyPrefix();
    const watching = redisStore({ url: server().url, keyPrefix });
    const writer = redisStore({ url: server().url, keyPrefix });
    onTestFinished(async () => {
      await Promise.all([watching.close(), writer.close()]);
    });
    let called = () => {};
    const next = () => new Promise<void>((resolve) => (called = resolve));
    watching.watch(() => called());
    await waitForSubscriber(keyPrefix);

    let woken = next();
    await (await rawClient()).sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    await woken;
    await waitForSubscriber(keyPrefix);
    woken = next();
    await writer.create(makeIntent());
    await woken;
  });
});

/** Resolves once some connection is subscribed to the store's channel. */
async function waitForSubscriber(keyPrefix: string): Promise<void> {
  const client = await rawClient();
  const channel = `${keyPrefix}claimable`;
  for (;;) {
    const counts = (await client.sendCommand(['PUBSUB', 'NUMSUB', channel])) as unknown[];
    if (Number(counts[1]) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const HOUR = 60 * 60 * 1000;

/** An intent `owner` holds for an hour. */
function heldBy(owner: string, overrides: Partial<Intent> = {}): Intent {
  return makeIntent({ owner, createdAt: 1_000, leaseUntil: 1_000 + HOUR, ...overrides });
}

/** A process that enlisted an owner with the store at `url` and stays alive until killed. */
async function enlistedProcess(url: string, keyPrefix: string) {
  const child = runFixture('enlisted-owner.ts', ['redis', url, keyPrefix], { nodeArgs: ['--import', 'tsx'] });
  onTestFinished(() => void child.child.kill('SIGKILL'));
  const [owner] = await untilLines(child, 1);
  return {
    owner: owner!,
    async kill() {
      child.child.kill('SIGKILL');
      await child.exited;
    },
  };
}

/** The presence connections Redis lists now, by presence id. */
async function listedPresences(client: Awaited<ReturnType<typeof rawClient>>): Promise<Map<string, string>> {
  const list = String(await client.sendCommand(['CLIENT', 'LIST', 'TYPE', 'normal']));
  const listed = new Map<string, string>();
  for (const [, id, presence] of list.matchAll(/^id=(\d+) .*name=durable-fetch\/([0-9a-f-]+)/gm)) listed.set(presence!, id!);
  return listed;
}

const presenceOf = (owner: string) => owner.split('/')[1]!;

/** Claims over `ms`, one after another: resolves every id any of them took. */
async function claimsFor(store: IntentStore, ms: number, request = claimRequest()): Promise<string[]> {
  const taken: string[] = [];
  for (const end = performance.now() + ms; performance.now() < end; ) taken.push(...(await store.claim(request)).map((intent) => intent.id));
  return taken;
}

describe('redisStore liveness', () => {
  it('checks presenceGraceMs', () => {
    for (const presenceGraceMs of [99, 60_001, 1.5, Number.NaN]) {
      expect(() => redisStore({ url: server().url, presenceGraceMs })).toThrow(/presenceGraceMs must be a whole number of ms from 100 to 60000/);
    }
  });

  it("takes a released owner's intents at once and leaves those of the owners still enlisted beside it", async () => {
    const store = redisStore({ url: server().url, keyPrefix: freshKeyPrefix() });
    onTestFinished(() => store.close());
    const [first, second] = await Promise.all([store.enlist(), store.enlist()]);
    const ofFirst = heldBy(first!.owner);
    const ofSecond = heldBy(second!.owner);
    for (const intent of [ofFirst, ofSecond]) await store.create(intent);
    await first!.release();
    expect((await store.claim(claimRequest())).map((intent) => intent.id)).toEqual([ofFirst.id]);
    // The last owner released closes the store's presence: its owners are gone too.
    await second!.release();
    expect((await store.claim(claimRequest({ owner: 'claimant-2' }))).map((intent) => intent.id)).toEqual([ofSecond.id]);
  });

  it("does not count an owner dead when its presence connection drops and comes straight back", async () => {
    const keyPrefix = freshKeyPrefix();
    const owning = redisStore({ url: server().url, keyPrefix });
    const claiming = redisStore({ url: server().url, keyPrefix });
    onTestFinished(async () => {
      await Promise.all([owning.close(), claiming.close()]);
    });
    const { owner } = await owning.enlist();
    await owning.create(heldBy(owner));
    const raw = await rawClient();
    for (let drop = 0; drop < 4; drop++) {
      const id = (await listedPresences(raw)).get(presenceOf(owner));
      expect(id).toBeDefined();
      await raw.sendCommand(['CLIENT', 'KILL', 'ID', id!]);
      // Claims go on through two graces while it reconnects: none takes the intent.
      await expect(claimsFor(claiming, 1_000)).resolves.toEqual([]);
    }
  });

  it("sees owners live and die on a RESP3 client it is given, whatever that client maps strings to", async () => {
    const keyPrefix = freshKeyPrefix();
    const client = createClient({ url: server().url, RESP: 3 }).on('error', () => {}).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    onTestFinished(() => client.destroy());
    const store = redisStore({ client: client as never, keyPrefix });
    onTestFinished(() => store.close());
    const live = await store.enlist();
    const dying = await enlistedProcess(server().url, keyPrefix);
    const [ofLive, ofDying] = [heldBy(live.owner), heldBy(dying.owner)];
    for (const intent of [ofLive, ofDying]) await store.create(intent);
    await dying.kill();
    await expect.poll(async () => (await store.claim(claimRequest())).map((taken) => taken.id), { interval: 50, timeout: 10_000 }).toEqual([ofDying.id]);
    await expect(claimsFor(store, 1_000)).resolves.toEqual([]);
  });

  it('wakes watchers once an owner seen missing may be judged gone, and takes its intents then', async () => {
    const keyPrefix = freshKeyPrefix();
    const store = redisStore({ url: server().url, keyPrefix });
    onTestFinished(() => store.close());
    const dying = await enlistedProcess(server().url, keyPrefix);
    const intent = heldBy(dying.owner);
    await store.create(intent);
    let woken = () => {};
    const wake = new Promise<void>((resolve) => (woken = resolve));
    store.watch(() => woken());
    await dying.kill();
    const raw = await rawClient();
    await expect.poll(async () => (await listedPresences(raw)).has(presenceOf(dying.owner))).toBe(false);
    const seen = performance.now();
    await expect(store.claim(claimRequest())).resolves.toEqual([]);
    await wake;
    const waited = performance.now() - seen;
    expect(waited).toBeGreaterThanOrEqual(450);
    expect(waited).toBeLessThan(1_500);
    expect((await store.claim(claimRequest())).map((taken) => taken.id)).toEqual([intent.id]);
  });
});

describe('redisStore across a restart of Redis', () => {
  it("takes over no lease written before the restart until the server has been up the claimant's lease", async () => {
    const own = await startRedisServer();
    onTestFinished(() => own.stop());
    const store = redisStore({ url: own.url, keyPrefix: freshKeyPrefix() });
    onTestFinished(() => store.close());
    // A lease of 200 ms, over long before Redis is back.
    const intent = makeIntent({ owner: 'owner-before-the-restart', createdAt: 1_000, leaseUntil: 1_200 });
    await store.create(intent);
    await own.crash();
    await own.restart();
    const restarted = performance.now();
    const leaseMs = 2_000;
    await expect
      .poll(async () => (await store.claim(claimRequest({ leaseMs })).catch(() => [])).map((taken) => taken.id), { interval: 50, timeout: 15_000 })
      .toEqual([intent.id]);
    const waited = performance.now() - restarted;
    // Counted from the server's start, a little before it said it was ready.
    expect(waited).toBeGreaterThanOrEqual(leaseMs - 250);
    // uptime_in_seconds counts whole seconds: the guard may last up to two seconds more.
    expect(waited).toBeLessThan(leaseMs + 3_000);
    // A lease written since the restart is taken as soon as it ends.
    const after = makeIntent({ owner: 'owner-after-the-restart', createdAt: 1_000, leaseUntil: 1_000 });
    await store.create(after);
    expect((await store.claim(claimRequest({ leaseMs }))).map((taken) => taken.id)).toEqual([after.id]);
  });

  it('never counts an absence that began before the restart, and counts one that began after it', async () => {
    const own = await startRedisServer();
    onTestFinished(() => own.stop());
    const keyPrefix = freshKeyPrefix();
    const store = redisStore({ url: own.url, keyPrefix });
    onTestFinished(() => store.close());
    const diedWhileDown = await enlistedProcess(own.url, keyPrefix);
    const before = heldBy(diedWhileDown.owner);
    await store.create(before);
    await own.crash();
    await diedWhileDown.kill();
    await own.restart();
    const diesAfter = await enlistedProcess(own.url, keyPrefix);
    const after = heldBy(diesAfter.owner);
    await store.create(after);
    await diesAfter.kill();
    // The owner that died after the restart is taken once its absence has lasted the grace; the
    // one whose absence began before the restart is left to its (hour's) lease, however long claims go on.
    await expect.poll(async () => (await store.claim(claimRequest())).map((taken) => taken.id), { interval: 50, timeout: 10_000 }).toEqual([after.id]);
    await expect(claimsFor(store, 1_500)).resolves.toEqual([]);
    expect((await store.get(before.scope, before.id))!.owner).toBe(diedWhileDown.owner);
  });
});

describe('redisStore layout', () => {
  it('migrates a journal of the first layout: claims and lists take its intents oldest first, ties by id as before', async () => {
    const keyPrefix = freshKeyPrefix();
    const raw = await rawClient();
    const at = 1_700_000_000_000;
    const [older, tieB, tieA] = [
      makeIntent({ id: 'older', createdAt: at - 1, updatedAt: at - 1, expiresAt: at + HOUR }),
      makeIntent({ id: 'tie-b', createdAt: at, updatedAt: at, expiresAt: at + HOUR }),
      makeIntent({ id: 'tie-a', createdAt: at, updatedAt: at, expiresAt: at + HOUR }),
    ];
    for (const intent of [tieB!, older!, tieA!]) {
      const key = `${keyPrefix}intent:${Buffer.byteLength(intent.scope)}:${intent.scope}:${intent.id}`;
      await raw.sendCommand(['HSET', key, ...intentFields(intent), 'version', '1']);
      for (const index of ['created', 'unsettled']) await raw.zAdd(`${keyPrefix}${index}:${intent.scope}`, { score: intent.createdAt, value: intent.id });
      await raw.sAdd(`${keyPrefix}scopes`, intent.scope);
    }
    const store = redisStore({ url: server().url, keyPrefix });
    onTestFinished(() => store.close());
    const expected = [older!.id, tieA!.id, tieB!.id];
    // Listing reads either layout and writes nothing (the CLI's reader relies on it); claiming migrates.
    expect((await store.list()).map((summary) => summary.id)).toEqual(expected);
    await expect(raw.get(`${keyPrefix}layout`)).resolves.toBeNull();
    expect((await store.claim(claimRequest())).map((intent) => intent.id)).toEqual(expected);
    await expect(raw.get(`${keyPrefix}layout`)).resolves.toBe('2');
    expect((await store.list()).map((summary) => summary.id)).toEqual(expected);
  });

  it('refuses to write to a journal a newer version laid out', async () => {
    const keyPrefix = freshKeyPrefix();
    await (await rawClient()).set(`${keyPrefix}layout`, '3');
    const store = redisStore({ url: server().url, keyPrefix });
    onTestFinished(() => store.close());
    await expect(store.create(makeIntent())).rejects.toThrow(/layout 3, written by a newer durable-fetch; this version reads up to 2/);
    await expect(store.claim(claimRequest())).rejects.toThrow(/newer durable-fetch/);
  });
});
