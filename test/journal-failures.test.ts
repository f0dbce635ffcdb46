import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, IdempotencyStoreError, type IntentStore, memoryStore } from '../src/index.node.js';
import { sqliteStore } from '../src/node.js';
import { type RecordingServer, startRecordingServer } from './support/recording-server.js';
import { fillDisk, smallDisk, tempDir } from './support/sqlite.js';

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(() => server.close());

const keys = (prefix: string) => Array.from({ length: 10 }, (_, i) => `${prefix}-${i}`);

/** Ten concurrent payouts: each must fail with an IdempotencyStoreError that says nothing was sent. */
async function expectRefusedUnsent(api: ReturnType<typeof createClient>, prefix: string, reason: RegExp) {
  const results = await Promise.allSettled(keys(prefix).map((key) => api.post('v1/payouts', { json: { key }, idempotencyKey: key })));
  for (const result of results) {
    expect(result.status).toBe('rejected');
    const error = (result as PromiseRejectedResult).reason as Error;
    expect(error).toBeInstanceOf(IdempotencyStoreError);
    expect(error.message).toMatch(/nothing was sent/);
    expect(error.message).toMatch(reason);
  }
  expect(server.requests.filter((request) => request.key.startsWith(`${prefix}-`))).toEqual([]);
}

describe('a journal that cannot take a write stops the call before anything is sent', () => {
  it('on a full disk: clear errors, nothing sent, and nothing of the refused calls stored', async () => {
    const disk = await smallDisk('1m');
    const dbPath = join(disk, 'intents.db');
    const api = createClient({ prefix: server.url, store: sqliteStore(dbPath) });
    await api.post('v1/payouts', { json: { key: 'before' }, idempotencyKey: 'before' });
    await api.flush();
    await fillDisk(join(disk, 'filler'));
    await expectRefusedUnsent(api, 'full', /disk is full/);
    await api.close();
    await rm(join(disk, 'filler'));
    const reopened = sqliteStore(dbPath);
    expect((await reopened.list()).map((intent) => intent.idempotencyKey)).toEqual(['before']);
    await reopened.close();
  });

  it('on a read-only file system: clear errors, nothing sent, nothing stored', async () => {
    const disk = await smallDisk('8m');
    const dbPath = join(disk, 'intents.db');
    const writer = createClient({ prefix: server.url, store: sqliteStore(dbPath) });
    await writer.post('v1/payouts', { json: { key: 'writable' }, idempotencyKey: 'writable' });
    await writer.close();
    // As a container's read-only root would be.
    execFileSync('mount', ['-o', 'remount,ro', disk]);
    const api = createClient({ prefix: server.url, store: sqliteStore(dbPath) });
    await expectRefusedUnsent(api, 'read-only', /read-only|readonly/i);
    await api.close();
    execFileSync('mount', ['-o', 'remount,rw', disk]);
    const reopened = sqliteStore(dbPath);
    expect((await reopened.list()).map((intent) => intent.idempotencyKey)).toEqual(['writable']);
    await reopened.close();
  });

  it('when the journal directory is deleted mid-run: clear errors naming the file, nothing sent', async () => {
    const dir = join(await tempDir(), 'journal');
    const dbPath = join(dir, 'intents.db');
    const api = createClient({ prefix: server.url, store: sqliteStore(dbPath) });
    await api.post('v1/payouts', { json: { key: 'first' }, idempotencyKey: 'first' });
    await api.flush();
    await rm(dir, { recursive: true, force: true });
    await expectRefusedUnsent(api, 'deleted', /was deleted or replaced/);
    await api.close();
  });
});

/**
 * A memory store whose outcome writes (or, with `renewals`, lease renewals) fail `failures` times:
 * thrown before writing, or (`landed`) after.
 */
function flakyOutcomes(failures: number, landed: boolean, renewals = false): IntentStore {
  const inner = memoryStore();
  let left = failures;
  return {
    get: (scope, id) => inner.get(scope, id),
    create: (intent) => inner.create(intent),
    claim: (request) => inner.claim(request),
    list: (query) => inner.list(query),
    compact: () => inner.compact(),
    close: () => inner.close(),
    async update(scope, id, version, change) {
      const targeted = renewals ? change.state === undefined && change.leaseMs !== undefined : change.state === 'succeeded';
      if (!targeted || left === 0) return inner.update(scope, id, version, change);
      left--;
      // A connection lost mid-commit: the write may have landed, the answer never came.
      if (landed) await inner.update(scope, id, version, change);
      throw new Error('Connection terminated unexpectedly');
    },
  };
}

describe('an outcome whose write fails is written again until it lands', () => {
  it.each([
    { case: 'writes that failed before landing', landed: false },
    { case: 'a write that landed though its answer was lost', landed: true },
  ])('$case: the intent ends succeeded, the lease held meanwhile, nothing resent', async ({ landed }) => {
    const store = flakyOutcomes(landed ? 1 : 3, landed);
    const api = createClient({ prefix: server.url, store });
    const response = await api.post('v1/payouts', { json: { key: `outcome-${landed}` }, idempotencyKey: `outcome-${landed}` });
    expect(response.status).toBe(201);
    await api.flush();
    expect((await store.list()).map((intent) => [intent.idempotencyKey, intent.state, intent.owner])).toEqual([[`outcome-${landed}`, 'succeeded', null]]);
    // Nothing pending for a relay to send again; the server saw one request.
    expect(await api.recover()).toEqual([]);
    expect(server.requests.filter((request) => request.key === `outcome-${landed}`)).toHaveLength(1);
    await api.close();
  });

  it('a lease renewal that landed though its answer was lost still holds the lease: the call settles its own intent', async () => {
    const store = flakyOutcomes(1, true, true);
    const slow = await startRecordingServer({ hold: () => 400 });
    const api = createClient({ prefix: slow.url, store, leaseMs: 150 });
    const response = await api.post('v1/payouts', { json: { key: 'renewed' }, idempotencyKey: 'renewed' });
    expect(response.status).toBe(201);
    await api.flush();
    expect((await store.list()).map((intent) => [intent.state, intent.owner])).toEqual([['succeeded', null]]);
    await api.close();
    await slow.close();
  });
});
