/**
 * Dead owners hold nothing, live ones are never taken over, and a call waiting for a live owner
 * says so and waits no longer than its totalTimeout. SQLite on one host: an owner is its process.
 * Real processes SIGKILLed mid-request, a real server on 127.0.0.1, the default 30 s lease.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, IdempotencyConflictError } from '../src/index.node.js';
import { sqliteStore } from '../src/node.js';
import { type Run, runFixture } from './support/processes.js';
import { type RecordingServer, startRecordingServer } from './support/recording-server.js';
import { freshDbPath } from './support/sqlite.js';

const TSX = ['--import', 'tsx'];
let server: RecordingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const now = () => performance.timeOrigin + performance.now();
/** The server holds the killed script's payout open for a second, answering 409 in flight meanwhile: retries outlast it. */
const PATIENT = { limit: 20, delay: () => 200 };

/** A payout script (test/fixtures/peer.ts) with the default lease, SIGKILLed while the server holds its request. */
async function killedMidRequest(path: string, key: string): Promise<number> {
  const script: Run = runFixture('peer.ts', [server!.url, 'sqlite', path, '-', 'call', key], { nodeArgs: TSX });
  await server!.arrival(1);
  script.child.kill('SIGKILL');
  await script.exited;
  return now();
}

describe('a payout script killed mid-request and run again at once, with the default lease', () => {
  it('recover() resends its payout on the first call, applied once, never two requests open at once', async () => {
    const path = await freshDbPath();
    // The server applies the first request and answers it after a while; the script dies before.
    server = await startRecordingServer({ dedupe: true, hold: (request) => (request === server?.requests[0] ? 1_000 : 0) });
    const killedAt = await killedMidRequest(path, 'payout-1');

    const rerun = createClient({ prefix: server.url, store: sqliteStore(path), headers: { 'x-sender': 'rerun' }, retry: PATIENT });
    const outcomes = await rerun.recover();
    expect(outcomes.map(({ idempotencyKey, state }) => [idempotencyKey, state])).toEqual([['payout-1', 'succeeded']]);
    expect(await rerun.pending()).toEqual([]);
    await rerun.close();
    await server.idle();

    // Resent at once: not after the dead script's 30 s lease.
    const [, resent] = server.requests;
    expect(resent!.arrivedAt - killedAt).toBeLessThan(5_000);
    expect(server.applied('payout-1')).toBe(1);
    expect(server.overlapping()).toEqual([]);
  }, 20_000);

  it('a call with the same key proceeds at once and gets the payout, applied once', async () => {
    const path = await freshDbPath();
    server = await startRecordingServer({ dedupe: true, hold: (request) => (request === server?.requests[0] ? 1_000 : 0) });
    const killedAt = await killedMidRequest(path, 'payout-2');

    const waits: unknown[] = [];
    const rerun = createClient({ prefix: server.url, store: sqliteStore(path), headers: { 'x-sender': 'rerun' }, retry: PATIENT, on: { ownerWait: (event) => void waits.push(event) } });
    const response = await rerun.post('v1/payouts', { json: { key: 'payout-2' }, idempotencyKey: 'payout-2' });
    expect([response.status, response.replayed]).toEqual([201, true]);
    await rerun.close();
    await server.idle();

    expect(waits).toEqual([]);
    expect(server.requests[1]!.arrivedAt - killedAt).toBeLessThan(5_000);
    expect(server.applied('payout-2')).toBe(1);
    expect(server.overlapping()).toEqual([]);
  }, 20_000);
});

describe('a live owner is never taken over', () => {
  it('a same-key call on another client waits, says for whom and until when, and gives up at its totalTimeout having sent nothing', async () => {
    const path = await freshDbPath();
    server = await startRecordingServer({ hold: () => 60_000 });
    const owner = createClient({ prefix: server.url, store: sqliteStore(path), headers: { 'x-sender': 'owner' } });
    const first = owner.post('v1/payouts', { json: { key: 'payout-3' }, idempotencyKey: 'payout-3' });
    first.catch(() => {});
    await server.arrival(1);

    const waits: Array<{ idempotencyKey: string; owner: string; leaseUntil: number }> = [];
    const other = createClient({ prefix: server.url, store: sqliteStore(path), totalTimeout: 400, on: { ownerWait: (event) => void waits.push(event) } });
    const waited = await other.post('v1/payouts', { json: { key: 'payout-3' }, idempotencyKey: 'payout-3' }).catch((error: unknown) => error);
    expect(waited).toBeInstanceOf(IdempotencyConflictError);
    expect((waited as Error).message).toMatch(/being sent by another owner .* totalTimeout .* sent nothing/);
    expect(waits).toEqual([expect.objectContaining({ idempotencyKey: 'payout-3', owner: expect.any(String), leaseUntil: expect.any(Number) })]);
    expect(waits[0]!.leaseUntil).toBeGreaterThan(Date.now());
    // Its recover() leaves the live owner's intent alone too.
    expect(await other.recover()).toEqual([]);
    expect(server.requests).toHaveLength(1);
    await other.close();
    // The owner's request ends with the server; its call fails, its intent left pending.
    await server.close();
    server = undefined;
    await first.catch(() => {});
    await owner.close();
  }, 20_000);
});
