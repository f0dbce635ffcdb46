/**
 * How the file journal behaves when it is large: listing many pending intents after a restart,
 * and the directory's size after many settled operations. Intents go straight through the store's
 * `put`, a batch at a time, so group commit fills the journal quickly.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createClient, type Intent } from '../../src/index.node.js';
import { fileStore } from '../../src/node.js';
import { PAYLOAD } from './clients.js';

/** pending() lists intents without sending anything, so no server is needed behind this origin. */
const ORIGIN = 'https://api.example.com';
const BATCH = 1000;
const DAY = 24 * 60 * 60 * 1000;
const BODY = Buffer.from(JSON.stringify(PAYLOAD)).toString('base64');
const ANSWER = Buffer.from(JSON.stringify({ id: 'po_1', status: 'accepted', received: 97 })).toString('base64');

function pendingIntent(createdAt: number): Intent {
  const idempotencyKey = randomUUID();
  return {
    scope: ORIGIN,
    idempotencyKey,
    method: 'POST',
    url: `${ORIGIN}/v1/payouts`,
    headers: { 'content-type': 'application/json' },
    body: BODY,
    fingerprint: createHash('sha256').update(idempotencyKey).digest('hex'),
    createdAt,
    updatedAt: createdAt,
    expiresAt: createdAt + DAY,
    attempts: 0,
    state: 'pending',
  };
}

async function inBatches(count: number, each: (i: number) => Promise<void>, afterBatch?: () => Promise<void>): Promise<void> {
  for (let from = 0; from < count; from += BATCH) {
    const size = Math.min(BATCH, count - from);
    await Promise.all(Array.from({ length: size }, (_, k) => each(from + k)));
    await afterBatch?.();
  }
}

export interface PendingScale {
  intents: number;
  fillMs: number;
  fillSyncs: number;
  journalBytes: number;
  /** pending() through a client on a newly opened store, as after a restart. */
  coldMs: number;
  /** pending() again on the same store: only what was appended since is read. */
  warmMs: number;
}

export async function measurePending(scratch: string, count: number): Promise<PendingScale> {
  const dir = await mkdtemp(join(scratch, 'pending-'));
  try {
    const filler = fileStore(dir);
    const base = Date.now();
    const fillStart = performance.now();
    await inBatches(count, (i) => filler.put(pendingIntent(base + i)));
    const fillMs = performance.now() - fillStart;
    const fillSyncs = filler.stats().fileSyncs;
    await filler.close();

    const store = fileStore(dir);
    try {
      const api = createClient({ prefix: ORIGIN, store });
      let start = performance.now();
      const listed = await api.pending();
      const coldMs = performance.now() - start;
      start = performance.now();
      await api.pending();
      const warmMs = performance.now() - start;
      if (listed.length !== count) throw new Error(`pending() listed ${listed.length} intents, expected ${count}`);
      return { intents: count, fillMs, fillSyncs, journalBytes: (await dirSize(dir)).bytes, coldMs, warmMs };
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface JournalScale {
  operations: number;
  ms: number;
  /** Largest directory seen between batches. */
  peak: DirSize;
  /** After `compact()`, the store still open (its current segment is live, so never compacted). */
  compacted: DirSize;
  /** After `close()`. */
  closed: DirSize;
  compactions: number;
  compactionError?: string;
}

export async function measureJournal(scratch: string, operations: number): Promise<JournalScale> {
  const dir = await mkdtemp(join(scratch, 'journal-'));
  try {
    const store = fileStore(dir);
    let peak: DirSize = { bytes: 0, files: 0 };
    const start = performance.now();
    await inBatches(
      operations,
      async () => {
        const intent = pendingIntent(Date.now());
        await store.put(intent);
        // Settled with its retention already over, as if keyTtlMs had passed: compactable at once.
        const settledAt = Date.now();
        await store.put({
          ...intent,
          state: 'succeeded',
          attempts: 1,
          updatedAt: settledAt,
          expiresAt: settledAt,
          response: { status: 201, statusText: 'Created', headers: { 'content-type': 'application/json' }, body: ANSWER },
        });
      },
      async () => {
        const size = await dirSize(dir);
        if (size.bytes > peak.bytes) peak = size;
      },
    );
    const ms = performance.now() - start;
    // The first pass keeps once more what it could not prove gone from every file; the second drops it.
    await store.compact();
    await store.compact();
    const compacted = await dirSize(dir);
    const { compactions, lastCompactionError } = store.stats();
    await store.close();
    const closed = await dirSize(dir);
    return {
      operations,
      ms,
      peak,
      compacted,
      closed,
      compactions,
      ...(lastCompactionError ? { compactionError: lastCompactionError.message } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface DirSize {
  bytes: number;
  files: number;
}

async function dirSize(dir: string): Promise<DirSize> {
  let bytes = 0;
  let files = 0;
  for (const name of await readdir(dir)) {
    try {
      bytes += (await stat(join(dir, name))).size;
      files++;
    } catch (err) {
      // Compaction may remove a file between the listing and its stat.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return { bytes, files };
}
