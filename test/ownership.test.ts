import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteReadOnly, sqliteStore } from '../src/node.js';
import { createClient } from '../src/index.node.js';
import { seededRandom } from '../src/testing.js';
import { wholeIntent } from './support/planted.js';
import { type Run, runFixture, untilLines } from './support/processes.js';
import { type RecordingServer, startRecordingServer } from './support/recording-server.js';

const TSX = ['--import', 'tsx'];
let workdir: string;
let server: RecordingServer | undefined;
beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'durable-fetch-owners-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(() => rm(workdir, { recursive: true, force: true }));

let journals = 0;
const freshJournal = () => join(workdir, `journal-${++journals}`, 'intents.db');

/** Every request the server saw had its intent committed in the journal before it arrived. */
function journaledBeforeSent(dbPath: string) {
  return (request: { key: string }) => {
    const reader = openSqliteReadOnly(dbPath);
    try {
      const found = reader.list().some((intent) => intent.idempotencyKey === request.key);
      if (!found) throw new Error(`request for ${request.key} arrived before its intent was committed`);
    } finally {
      reader.close();
    }
  };
}

function worker(dbPath: string, seed: number, ops: number, keySpace: number, leaseMs: number): Run {
  return runFixture('owner-worker.ts', [server!.url, dbPath, String(seed), String(ops), String(keySpace), String(leaseMs)], { nodeArgs: TSX });
}

describe('live owners sharing one SQLite journal, against a server that does not deduplicate', () => {
  it('6 processes writing and recovering at random send each key once, never two at a time', async () => {
    const dbPath = freshJournal();
    const random = seededRandom(9);
    server = await startRecordingServer({ hold: () => Math.floor(random() * 30), onArrival: journaledBeforeSent(dbPath) });
    const workers = Array.from({ length: 6 }, (_, i) => worker(dbPath, 100 + i, 40, 60, 5_000));
    const results = await Promise.all(workers.map((run) => run.exited));
    for (const { code, stderr } of results) expect(code, stderr).toBe(0);
    for (const { stderr } of results) expect(stderr).toBe('');
    await server.idle();
    expect(server.requests.length).toBeGreaterThan(30);
    expect(server.appliedTwice()).toEqual([]);
    expect(server.overlapping()).toEqual([]);
    expect(server.arrivalErrors).toEqual([]);
    // Several processes took part in sending, or the race proves nothing.
    expect(new Set(server.requests.map((request) => request.sender)).size).toBeGreaterThan(1);
  }, 60_000);

  it('3 processes recovering one orphaned intent at the same instant send it once', async () => {
    const dbPath = freshJournal();
    server = await startRecordingServer({ hold: () => 50 });
    const store = sqliteStore(dbPath);
    const url = `${server.url}/v1/payouts`;
    // Its owner died long ago: the lease has run out.
    const orphan = await wholeIntent({
      idempotencyKey: 'orphan',
      url,
      owner: 'dead-process',
      leaseUntil: Date.now() - 1,
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    await store.create(orphan);
    await store.close();
    const recoverers = Array.from({ length: 3 }, () => runFixture('recoverer.ts', [server!.url, dbPath], { nodeArgs: TSX, stdin: true }));
    await Promise.all(recoverers.map((run) => untilLines(run, 1)));
    for (const run of recoverers) run.child.stdin?.end('go\n');
    const reports = await Promise.all(recoverers.map(async (run) => ((await run.exited).code === 0 ? JSON.parse(run.lines[1] ?? '[]') : run)));
    expect(reports.flat().map((outcome: { state: string }) => outcome.state)).toEqual(['succeeded']);
    expect(server.requests.map((request) => request.key)).toEqual(['orphan']);
  }, 30_000);
});

describe('live owners with a 400 ms lease, again and again, against a server that does not deduplicate', () => {
  it('4 processes, 20 runs: no key applied twice, never two requests of one key open at once', async () => {
    const random = seededRandom(400);
    for (let run = 0; run < 20; run++) {
      const dbPath = freshJournal();
      server = await startRecordingServer({ hold: () => Math.floor(random() * 40) });
      const workers = Array.from({ length: 4 }, (_, i) => worker(dbPath, 400 + run * 4 + i, 6, 8, 400));
      const results = await Promise.all(workers.map((each) => each.exited));
      for (const { code, stderr } of results) expect(code, stderr).toBe(0);
      await server.idle();
      expect(server.appliedTwice(), `run ${run}`).toEqual([]);
      expect(server.overlapping(), `run ${run}`).toEqual([]);
      await server.close();
      server = undefined;
    }
  }, 300_000);
});

describe('two processes recovering a backlog behind a slow intent, against a server that does not deduplicate', () => {
  it.each([
    { name: 'a 400 ms lease, the oldest intent asked to wait 2 s (Retry-After)', leaseMs: '400', retryAfter: '2', second: 'recover' },
    { name: 'every option at its default, one of them relaying', leaseMs: undefined, retryAfter: '1', second: 'relay' },
  ])('sends each intent once: $name', async ({ leaseMs, retryAfter, second }) => {
    const dbPath = freshJournal();
    let asked = false;
    server = await startRecordingServer({
      hold: () => 100,
      // The oldest intent's first attempt is told to come back later: the rest of the backlog waits behind it.
      refuse: (request) => (request.key === 'backlog-0' && !asked ? ((asked = true), { status: 503, headers: { 'retry-after': retryAfter } }) : undefined),
    });
    const writer = createClient({ prefix: server.url, store: sqliteStore(dbPath) });
    for (let i = 0; i < 6; i++) await writer.enqueue('POST', 'v1/payouts', { json: { i }, idempotencyKey: `backlog-${i}` });
    await writer.close();

    const env = { ...process.env, ...(leaseMs === undefined ? {} : { LEASE_MS: leaseMs }) };
    const recoverer = runFixture('peer.ts', [server.url, 'sqlite', dbPath, '-', 'recover'], { nodeArgs: TSX, env });
    const other = runFixture('peer.ts', [server.url, 'sqlite', dbPath, '-', second], { nodeArgs: TSX, env });
    const { code, stderr } = await recoverer.exited;
    expect(code, stderr).toBe(0);
    if (second === 'recover') expect((await other.exited).code).toBe(0);
    const reader = createClient({ prefix: server.url, store: sqliteStore(dbPath) });
    await expect.poll(async () => (await reader.pending()).length, { timeout: 20_000 }).toBe(0);
    await reader.close();
    other.child.kill('SIGKILL');
    await server.idle();

    for (let i = 0; i < 6; i++) expect(server.applied(`backlog-${i}`), `backlog-${i}`).toBe(1);
    expect(server.appliedTwice()).toEqual([]);
    expect(server.overlapping()).toEqual([]);
  }, 60_000);
});

describe('owners killed with SIGKILL at random and restarted, against a deduplicating server', () => {
  it('a key is resent only after its owner died, never by two at once, and every payout is applied once', async () => {
    const dbPath = freshJournal();
    const random = seededRandom(31);
    const KEYS = 30;
    // Long enough that no live owner, however starved of CPU on a small machine, outlives its lease.
    const LEASE_MS = 2_000;
    server = await startRecordingServer({ dedupe: true, hold: () => Math.floor(random() * 80), onArrival: journaledBeforeSent(dbPath) });
    const killedAt = new Map<string, number>();
    let kills = 0;
    const live = new Set<Run>();
    let seed = 1000;
    const start = () => {
      const run = worker(dbPath, seed++, 25, KEYS, LEASE_MS);
      live.add(run);
      void run.exited.then(() => live.delete(run));
      return run;
    };
    for (let i = 0; i < 4; i++) start();
    // Kill a random live worker as the server sees chosen requests, then start a replacement.
    for (let round = 0; round < 8; round++) {
      const victims = [...live];
      const victim = victims[Math.floor(random() * victims.length)];
      if (!victim) break;
      await untilLines(victim, 1 + Math.floor(random() * 5)).catch(() => undefined);
      if (victim.child.exitCode === null && victim.child.kill('SIGKILL')) {
        killedAt.set(String(victim.child.pid), performance.timeOrigin + performance.now());
        kills++;
      }
      start();
    }
    await Promise.all([...live].map((run) => run.exited));
    // One last pass that needs every payout: it waits out the dead workers' leases where it must.
    const sweep = createClient({ prefix: server.url, store: sqliteStore(dbPath), leaseMs: LEASE_MS, headers: { 'x-sender': 'sweep' } });
    for (let key = 0; key < KEYS; key++) await sweep.post('v1/payouts', { json: { key: `payout-${key}` }, idempotencyKey: `payout-${key}` });
    expect(await sweep.pending()).toEqual([]);
    await sweep.close();
    await server.idle();

    expect(kills).toBeGreaterThanOrEqual(4);
    for (let key = 0; key < KEYS; key++) expect(server.applied(`payout-${key}`), `payout-${key}`).toBe(1);
    expect(server.overlapping()).toEqual([]);
    expect(server.arrivalErrors).toEqual([]);
    // A request from another sender than the one before it means the one before had died first.
    for (const requests of Map.groupBy(server.requests, (request) => request.key).values()) {
      for (let i = 1; i < requests.length; i++) {
        const [before, after] = [requests[i - 1]!, requests[i]!];
        if (before.sender === after.sender) continue;
        const died = killedAt.get(before.sender);
        expect(died, `${after.key}: ${after.sender} sent while ${before.sender} lived: ${JSON.stringify(requests)}`).toBeDefined();
        expect(died!).toBeLessThan(after.arrivedAt);
      }
    }
  }, 120_000);
});
