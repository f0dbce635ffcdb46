/**
 * Wall clocks are not to be trusted: a step under a running owner (NTP, an operator, a VM
 * resumed), a peer whose clock runs ahead. Leases, expiry and compaction are on the store's clock,
 * which none of these move. Real processes on faked clocks (libfaketime), against a server that
 * does not deduplicate.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClient } from '../src/index.node.js';
import { openStore } from './fixtures/open-store.js';
import { fakeClock } from './support/clocks.js';
import { freshTable } from './support/postgres-tables.js';
import { type Run, runFixture, untilLines } from './support/processes.js';
import { type RecordingServer, startRecordingServer } from './support/recording-server.js';
import { freshKeyPrefix, useRedisServer } from './support/redis.js';

const TSX = ['--import', 'tsx'];
let workdir: string;
let server: RecordingServer | undefined;
const running = new Set<Run>();
beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'durable-fetch-clocks-'));
});
afterEach(async () => {
  for (const run of running) run.child.kill('SIGKILL');
  running.clear();
  await server?.close();
  server = undefined;
});
afterAll(() => rm(workdir, { recursive: true, force: true }));

const redis = useRedisServer();
let journals = 0;
let clocks = 0;

/** A fresh journal of each kind, as the fixtures take it: kind, where, name. */
const JOURNALS: Record<string, () => [string, string, string]> = {
  sqlite: () => ['sqlite', join(workdir, `journal-${++journals}`, 'intents.db'), '-'],
  postgres: () => ['postgres', inject('postgresUrl'), freshTable()],
  redis: () => ['redis', redis().url, freshKeyPrefix()],
};

/** A process on `journal`, on the clock `env` puts it on, in `role` (test/fixtures/peer.ts). */
function peer(journal: [string, string, string], env: NodeJS.ProcessEnv, role: string, ...args: string[]): Run {
  const run = runFixture('peer.ts', [server!.url, ...journal, role, ...args], { nodeArgs: TSX, env });
  running.add(run);
  return run;
}

const storeOf = ([kind, where, name]: [string, string, string]) => openStore(kind, where, name === '-' ? undefined : name);

describe.each([
  ['sqliteStore', 'sqlite', "the host's monotonic clock"],
  ['postgresStore', 'postgres', "the database's clock"],
  ['redisStore', 'redis', "the server's clock"],
])('%s: leases on %s, which no client wall-clock step moves', (_name, kind) => {
  it.each([
    { case: 'its own wall clock stepped +60 s mid-call, a relay 60 s ahead, the default 30 s lease', step: '+60s', ahead: '+60s', leaseMs: undefined },
    { case: 'a relay 3 s ahead, a 1 s lease renewed through a 2.5 s call', step: '+0s', ahead: '+3s', leaseMs: '1000' },
  ])('a live owner keeps its key: $case', async ({ step, ahead, leaseMs }) => {
    const path = JOURNALS[kind]!();
    server = await startRecordingServer({ hold: () => 2_500 });
    const ownerClock = fakeClock(workdir, `owner-${++clocks}`);
    const relayClock = fakeClock(workdir, `relay-${clocks}`, ahead);
    const env = (clock: { env: NodeJS.ProcessEnv }) => ({ ...clock.env, ...(leaseMs === undefined ? {} : { LEASE_MS: leaseMs }) });
    const relay = peer(path, env(relayClock), 'relay');
    await untilLines(relay, 1);
    const owner = peer(path, env(ownerClock), 'call', 'payout-1');
    await server.arrival(1);
    ownerClock.set(step);
    const { code, stderr } = await owner.exited;
    expect(code, stderr).toBe(0);
    expect(JSON.parse(owner.lines[0]!)).toEqual({ status: 201, replayed: false });
    relay.child.kill('SIGKILL');
    await server.idle();
    expect(server.requests.map((request) => [request.key, request.outcome])).toEqual([['payout-1', 'applied']]);
    expect(server.overlapping()).toEqual([]);
  }, 30_000);

  it('a peer two days ahead neither compacts a settled intent minutes old nor takes a pending one for expired', async () => {
    const path = JOURNALS[kind]!();
    server = await startRecordingServer();
    const api = createClient({ prefix: server.url, store: storeOf(path) });
    await api.post('v1/payouts', { json: { key: 'settled' }, idempotencyKey: 'settled' });
    await api.enqueue('POST', 'v1/payouts', { json: { key: 'waiting' }, idempotencyKey: 'waiting' });
    await api.close();

    const ahead = peer(path, fakeClock(workdir, 'two-days-ahead', '+2d').env, 'recover');
    const { code, stderr } = await ahead.exited;
    expect(code, stderr).toBe(0);
    // Sent, not refused as expired: its key's TTL (a day) counts on the store's clock.
    expect(JSON.parse(ahead.lines[0]!)).toEqual([{ idempotencyKey: 'waiting', state: 'succeeded' }]);

    // Still journaled: answered from the journal, not sent again.
    const again = createClient({ prefix: server.url, store: storeOf(path) });
    const repeat = await again.post('v1/payouts', { json: { key: 'settled' }, idempotencyKey: 'settled' });
    expect([repeat.status, repeat.replayed, repeat.attempts]).toEqual([201, true, 0]);
    await again.close();
    expect(server.requests.map((request) => request.key)).toEqual(['settled', 'waiting']);
  }, 30_000);
});
