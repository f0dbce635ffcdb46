/**
 * The built package (dist/, through its own exports) on whichever runtime runs this file:
 *
 *   node test/runtime/suite.mjs      deno run -A test/runtime/suite.mjs      bun run test/runtime/suite.mjs
 *
 * Plain JavaScript with a ten-line harness, so Node 22, Deno and Bun run it as it is. Prints the
 * runtime first, each promise kept, failed or skipped (with why), and `N passed, N failed` last;
 * exits 1 on a failure. `npm run test:runtimes` runs it on every runtime of the matrix.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, assertEqual, check, finish, rejection, runtimeName, skip } from './harness.mjs';
import { startServer } from './test-server.mjs';

console.log(`durable-fetch runtime suite on ${runtimeName()}`);

const { createClient, memoryStore, HTTPError, IdempotencyError, IdempotencyMismatchError } = await import('durable-fetch');
const entry = import.meta.resolve('durable-fetch');
console.log(`  'durable-fetch' resolves to ${entry.replace(new URL('../../', import.meta.url).href, '')}`);

/** Whether this runtime has node:sqlite, and why not when it has none. */
const sqlite = await import('node:sqlite').then(
  () => ({ available: true }),
  (error) => ({ available: false, reason: `node:sqlite not available in ${runtimeName()} (${error.message})` }),
);

const server = await startServer('seed004');
const client = (store = memoryStore()) =>
  createClient({ prefix: server.url, store, retry: { limit: 3, delay: () => 10 } });
let keys = 0;
const freshKey = (what) => `${what}-${Date.now()}-${++keys}`;

try {
  await check("'durable-fetch' is the built package (dist/)", () => {
    assert(/\/dist\/index(\.node|\.browser)?\.js$/.test(entry), `resolved to ${entry}; run npm run build first`);
  });

  await check('a keyed POST is retried over 503s, with the same key on every attempt', async () => {
    await server.reset();
    await server.setFaults({ firstAttempts: [{ kind: 'status', status: 503 }], probability: 1, upToAttempt: 2 });
    const key = freshKey('payout');
    const res = await client().post('v1/payouts', { json: { amount: 500 }, idempotencyKey: key });
    assertEqual([res.status, res.attempts, res.idempotencyKey], [201, 3, key], '[status, attempts, key]');
    assertEqual((await server.requests()).map((r) => r.key), [key, key, key], 'keys the server saw');
    assertEqual(await server.applied(key), 1, 'times applied');
  });

  // The client's own attempt count is not asserted over dropped connections: Deno's fetch resends
  // a request whose pooled connection closed before any answer, so the server may see more.
  await check('a connection dropped before the server applied is retried with the same key', async () => {
    await server.reset();
    await server.setFaults({ once: { kind: 'drop-before' } });
    const key = freshKey('dropped');
    const res = await client().post('v1/payouts', { json: { amount: 4 }, idempotencyKey: key });
    assertEqual([res.status, res.replayed], [201, false], '[status, replayed]');
    const seen = await server.requests();
    assertEqual(seen.map((r) => [r.key, r.outcome]), [[key, 'fault'], [key, 'applied']], 'what the server saw');
  });

  await check('a lost answer is resent with its key, and the server replay is marked res.replayed', async () => {
    await server.reset();
    await server.setFaults({ once: { kind: 'drop-after' } });
    const key = freshKey('lost');
    const res = await client().post('v1/payouts', { json: { amount: 5 }, idempotencyKey: key });
    assertEqual([res.status, res.replayed], [201, true], '[status, replayed]');
    const seen = await server.requests();
    assertEqual(seen.map((r) => [r.key, r.outcome]), [[key, 'applied'], [key, 'replayed']], 'what the server saw');
    assertEqual(await server.applied(key), 1, 'times applied');
  });

  await check('a call repeated with its key is answered from the journal, without a request', async () => {
    await server.reset();
    const api = client();
    const key = freshKey('again');
    await api.post('v1/payouts', { json: { amount: 7 }, idempotencyKey: key });
    const again = await api.post('v1/payouts', { json: { amount: 7 }, idempotencyKey: key });
    assertEqual([again.replayed, again.attempts], [true, 0], '[replayed, attempts]');
    assertEqual((await again.json()).received, { amount: 7 }, 'the journaled body');
    assertEqual((await server.requests()).length, 1, 'requests the server saw');
  });

  await check('a key the server saw with another body raises IdempotencyMismatchError', async () => {
    await server.reset();
    const key = freshKey('reused');
    await client().post('v1/payouts', { json: { amount: 1 }, idempotencyKey: key });
    // A second client with its own journal: only the server can tell.
    const error = await rejection(client().post('v1/payouts', { json: { amount: 2 }, idempotencyKey: key }));
    assert(error instanceof IdempotencyMismatchError, `expected IdempotencyMismatchError, got ${error}`);
    assertEqual([error.idempotencyKey, error.status], [key, 422], '[idempotencyKey, status]');
  });

  await check('a plain 4xx raises HTTPError and is not retried', async () => {
    await server.reset();
    const error = await rejection(client().post('v1/invalid', { json: { amount: -1 } }));
    assert(error instanceof HTTPError, `expected HTTPError, got ${error}`);
    assert(!(error instanceof IdempotencyError), 'a plain 4xx is not an idempotency error');
    assertEqual(error.response.status, 422, 'status');
    assertEqual((await server.requests()).length, 1, 'requests the server saw');
  });

  await check('memoryStore holds the settled intent', async () => {
    await server.reset();
    const store = memoryStore();
    const key = freshKey('memory');
    await client(store).post('v1/payouts', { json: { amount: 3 }, idempotencyKey: key });
    const [intent] = await store.list();
    assertEqual([intent?.idempotencyKey, intent?.state], [key, 'succeeded'], '[key, state]');
    await store.close();
  });

  if (sqlite.available) {
    await check('sqliteStore (durable-fetch/node): a new store on the file answers from the journal', async () => {
      const { sqliteStore } = await import('durable-fetch/node');
      await server.reset();
      const dir = await mkdtemp(join(tmpdir(), 'durable-fetch-runtime-'));
      try {
        const path = join(dir, 'journal', 'intents.db');
        const key = freshKey('sqlite');
        const first = sqliteStore(path);
        await client(first).post('v1/payouts', { json: { amount: 9 }, idempotencyKey: key });
        await first.close();
        const second = sqliteStore(path);
        const res = await client(second).post('v1/payouts', { json: { amount: 9 }, idempotencyKey: key });
        await second.close();
        assertEqual([res.replayed, res.attempts], [true, 0], '[replayed, attempts]');
        assertEqual((await server.requests()).length, 1, 'requests the server saw');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  } else {
    skip('sqliteStore (durable-fetch/node)', sqlite.reason);
    await check('durable-fetch/node fails at import with an error naming node:sqlite', async () => {
      const error = await rejection(import('durable-fetch/node'));
      assert(/node:sqlite|Node(\.js)? (>=|≥) ?22/.test(String(error?.message)), `unclear error: ${error?.message}`);
    });
  }
} finally {
  await server.close();
}

finish();
