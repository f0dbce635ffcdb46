/**
 * How the SQLite journal behaves when it is large or widely shared: listing many pending intents
 * after a restart, the process's memory over many settled calls, and file descriptors when many
 * clients open one journal file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createClient, type DurableClient, intentId, type Intent } from '../../src/index.node.js';
import { sqliteStore } from '../../src/node.js';
import { sqliteConnectionCount } from '../../src/stores/sqlite.js';
import { runPool } from '../../support/pool.js';
import { freshJournal, PAYLOAD, ROUTE } from './clients.js';

/** pending() lists intents without sending anything, so no server is needed behind this origin. */
const ORIGIN = 'https://api.example.com';
const BATCH = 1000;
const DAY = 24 * 60 * 60 * 1000;
const BODY = new TextEncoder().encode(JSON.stringify(PAYLOAD));

function pendingIntent(createdAt: number): Intent {
  const idempotencyKey = randomUUID();
  const url = new URL('/v1/payouts', ORIGIN);
  return {
    scope: 'default',
    id: intentId(idempotencyKey, 'POST', url),
    idempotencyKey,
    method: 'POST',
    url: url.href,
    origin: url.origin,
    headers: { 'content-type': 'application/json' },
    keyHeader: 'Idempotency-Key',
    keyFormat: 'token',
    body: BODY,
    fingerprint: createHash('sha256').update(idempotencyKey).digest('hex'),
    createdAt,
    updatedAt: createdAt,
    expiresAt: createdAt + DAY,
    attempts: 0,
    state: 'pending',
    owner: null,
    leaseUntil: 0,
    version: 1,
  };
}

export interface PendingScale {
  intents: number;
  fillMs: number;
  fillCommits: number;
  fileBytes: number;
  /** pending() through a client on a newly opened store (a new worker and connection), as after a restart. */
  coldMs: number;
  /** pending() again on the same store. */
  warmMs: number;
}

export async function measurePending(scratch: string, count: number): Promise<PendingScale> {
  const { dir, path } = await freshJournal(scratch, 'pending-');
  try {
    const filler = sqliteStore(path);
    const base = Date.now();
    const fillStart = performance.now();
    // A batch at a time, concurrently: group commit puts each batch in a few transactions.
    for (let from = 0; from < count; from += BATCH) {
      await Promise.all(Array.from({ length: Math.min(BATCH, count - from) }, (_, k) => filler.create(pendingIntent(base + from + k))));
    }
    const fillMs = performance.now() - fillStart;
    const fillCommits = (await filler.stats()).commits;
    await filler.close();

    const store = sqliteStore(path);
    const api = createClient({ prefix: ORIGIN, store });
    try {
      let start = performance.now();
      const listed = await api.pending();
      const coldMs = performance.now() - start;
      start = performance.now();
      await api.pending();
      const warmMs = performance.now() - start;
      if (listed.length !== count) throw new Error(`pending() listed ${listed.length} intents, expected ${count}`);
      return { intents: count, fillMs, fillCommits, fileBytes: await journalBytes(path), coldMs, warmMs };
    } finally {
      await api.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The database, its WAL and shared-memory file together. */
async function journalBytes(path: string): Promise<number> {
  let bytes = 0;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) bytes += await stat(file).then((s) => s.size, () => 0);
  return bytes;
}

/** A full collection when the flag can be set at run time; RSS after it is what stays. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  return () => gc?.();
}

export interface MemoryCheckpoint {
  calls: number;
  rssBytes: number;
  heapUsedBytes: number;
}

export interface MemoryScale {
  calls: number;
  concurrency: number;
  ms: number;
  /** Before the first call, after a full collection: what the run so far left behind. */
  startRssBytes: number;
  checkpoints: MemoryCheckpoint[];
  fileBytes: number;
}

/**
 * `calls` settled POSTs through one client on one sqliteStore, `concurrency` at a time, with
 * RSS and heap read after a full collection at each checkpoint (and every outcome written).
 */
export async function measureMemory(baseUrl: string, scratch: string, calls: number, concurrency: number, checkpoints: readonly number[]): Promise<MemoryScale> {
  const gc = collector();
  const { dir, path } = await freshJournal(scratch, 'memory-');
  const api = createClient({ prefix: baseUrl, store: sqliteStore(path) });
  const seen: MemoryCheckpoint[] = [];
  try {
    gc();
    const startRssBytes = process.memoryUsage().rss;
    const start = performance.now();
    let done = 0;
    for (const checkpoint of checkpoints) {
      await runPool(checkpoint - done, concurrency, () => api.post(ROUTE, { json: PAYLOAD }).json());
      done = checkpoint;
      await api.flush();
      gc();
      const usage = process.memoryUsage();
      seen.push({ calls: done, rssBytes: usage.rss, heapUsedBytes: usage.heapUsed });
    }
    return { calls, concurrency, ms: performance.now() - start, startRssBytes, checkpoints: seen, fileBytes: await journalBytes(path) };
  } finally {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export interface SharedFileScale {
  clients: number;
  /** Open file descriptors of this process (/proc/self/fd), and those on the journal's files. */
  before: FdCount;
  oneClient: FdCount;
  allClients: FdCount;
  afterClose: FdCount;
  /** sqliteConnectionCount() with every client open: worker threads on the file. */
  connections: number;
}

export interface FdCount {
  all: number;
  journal: number;
}

function openFds(path: string): FdCount {
  let all = 0;
  let journal = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    all++;
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(path)) journal++;
    } catch {
      // The fd readdir itself used, closed by now.
    }
  }
  return { all, journal };
}

/**
 * `count` clients, each with its own `sqliteStore(path)` on one file, each making one call. Calls
 * go one after another, so the HTTP pool keeps one socket and the fd count is the journal's.
 */
export async function measureSharedFile(baseUrl: string, scratch: string, count: number): Promise<SharedFileScale> {
  const { dir, path } = await freshJournal(scratch, 'shared-');
  const clients: DurableClient[] = [];
  try {
    // The socket to the server is opened here, before counting.
    await fetch(baseUrl + ROUTE, { method: 'POST', body: '{}' }).then((r) => r.arrayBuffer());
    const before = openFds(path);
    const post = async () => {
      const api = createClient({ prefix: baseUrl, store: sqliteStore(path) });
      clients.push(api);
      await api.post(ROUTE, { json: PAYLOAD }).json();
    };
    await post();
    const oneClient = openFds(path);
    while (clients.length < count) await post();
    const allClients = openFds(path);
    const connections = sqliteConnectionCount();
    await Promise.all(clients.splice(0).map((api) => api.close()));
    const afterClose = openFds(path);
    return { clients: count, before, oneClient, allClients, afterClose, connections };
  } finally {
    await Promise.all(clients.map((api) => api.close()));
    await rm(dir, { recursive: true, force: true });
  }
}
