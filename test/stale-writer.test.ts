import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, IdempotencyConflictError } from '../src/index.node.js';
import { sqliteStore } from '../src/node.js';
import { runFixture } from './support/processes.js';
import { type RecordingServer, startRecordingServer } from './support/recording-server.js';

let workdir: string;
let server: RecordingServer;
beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'durable-fetch-stale-'));
  // The first request of each key is answered after 1.5 s: long enough to pause its owner past its lease.
  server = await startRecordingServer({ dedupe: true, hold: (request) => (request.sender === 'paused' ? 1_500 : 0) });
});
afterAll(async () => {
  await server.close();
  await rm(workdir, { recursive: true, force: true });
});

/** Resolves with the first request the server sees for `key`. */
function arrivalOf(key: string): Promise<void> {
  return new Promise((resolve) => {
    const look = setInterval(() => {
      if (!server.requests.some((request) => request.key === key)) return;
      clearInterval(look);
      resolve();
    }, 5);
  });
}

describe('an owner paused past its lease (SIGSTOP) while another takes over', () => {
  it('cannot overwrite the newer outcome when it resumes, and nothing is applied twice', async () => {
    const dbPath = join(workdir, 'paused', 'intents.db');
    const paused = runFixture('single-call.ts', [server.url, dbPath, 'payout-1', '300'], { nodeArgs: ['--import', 'tsx'] });
    await arrivalOf('payout-1');
    paused.child.kill('SIGSTOP');

    // The new owner waits out the paused owner's lease, then sends: 409 while the first request
    // is open, then the server's replay.
    const successor = createClient({ prefix: server.url, store: sqliteStore(dbPath), headers: { 'x-sender': 'successor' }, retry: { limit: 100, delay: () => 50 } });
    const response = await successor.post('v1/payouts', { json: { key: 'payout-1' }, idempotencyKey: 'payout-1' });
    expect([response.status, response.replayed]).toEqual([201, true]);
    await successor.flush();

    paused.child.kill('SIGCONT');
    const { code, stderr } = await paused.exited;
    expect(code, stderr).toBe(0);
    // The paused owner got its 201 too, but its outcome write lost the compare-and-set.
    expect(JSON.parse(paused.lines[0] ?? '{}')).toEqual({ status: 201, replayed: false });
    const [intent] = await successor.pending().then(async (pending) => {
      expect(pending).toEqual([]);
      const store = sqliteStore(dbPath);
      const [summary] = await store.list();
      const stored = await store.get(summary!.scope, summary!.id);
      await store.close();
      return [stored];
    });
    // The journal holds the successor's outcome (the replay), not the stale owner's.
    expect(intent).toMatchObject({ state: 'succeeded', owner: null });
    expect(intent?.response?.headers['idempotent-replayed']).toBe('true');
    expect(server.applied('payout-1')).toBe(1);
    await successor.close();
  });

  it('a caller that gives up while another owner holds the key sends nothing and writes nothing', async () => {
    const dbPath = join(workdir, 'waiting', 'intents.db');
    const owner = runFixture('single-call.ts', [server.url, dbPath, 'payout-2', '30000'], { nodeArgs: ['--import', 'tsx'] });
    await arrivalOf('payout-2');
    const impatient = createClient({ prefix: server.url, store: sqliteStore(dbPath), headers: { 'x-sender': 'impatient' }, totalTimeout: 200 });
    const controller = new AbortController();
    const waited = impatient.post('v1/payouts', { json: { key: 'payout-2' }, idempotencyKey: 'payout-2', signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gave up waiting')), 200);
    await expect(waited).rejects.toThrow('gave up waiting');
    expect((await owner.exited).code).toBe(0);
    expect(JSON.parse(owner.lines[0] ?? '{}')).toEqual({ status: 201, replayed: false });
    // The owner's outcome stands: a fresh call is answered from the journal.
    const again = await impatient.post('v1/payouts', { json: { key: 'payout-2' }, idempotencyKey: 'payout-2' });
    expect([again.status, again.replayed, again.attempts]).toEqual([201, true, 0]);
    expect(server.requests.filter((request) => request.key === 'payout-2').map((request) => request.sender)).toEqual(['paused']);
    await impatient.close();
  });
});
