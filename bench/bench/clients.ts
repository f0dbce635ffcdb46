/**
 * The clients compared, each behind one `post()` that sends the same JSON and reads the answer's
 * body, so every one of them does the whole round trip a caller would.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import ky from 'ky';
import type { DurableClient, IntentStore } from '../../src/index.node.js';
import { createClient, memoryStore, sqliteStore } from './shipped.js';

export const PAYLOAD = { amount: 500, currency: 'usd', destination: 'acct_1HvY7zB2eZvKYlo2', memo: 'bench payout' };
export const ROUTE = 'v1/payouts';

export interface JournalCounts {
  /** Durable flushes: SQLite commits (one WAL fsync each), or the naive baseline's fsyncs (file and directory). */
  commits: number;
  /** Records written: creates and updates for the stores, intent files for the naive baseline. */
  writes: number;
  /** Wall time calls spent waiting on the journal before sending (create): the critical path. */
  createMs: number;
  /** Wall time spent on outcome and lease writes (update): after the caller has its answer, for the stores. */
  updateMs: number;
}

export interface Session {
  post(): Promise<void>;
  /** Counted since the session opened, once every outcome is written; only clients with a journal have them. */
  journal?(): Promise<JournalCounts>;
  close(): Promise<void>;
}

export type ClientName = 'fetch' | 'ky' | 'memoryStore' | 'sqliteStore' | 'naive';

export interface BenchClient {
  name: ClientName;
  /** What the row stands for, in the report. */
  label: string;
  /** A fresh client (and journal): no measurement inherits another's state. */
  open(baseUrl: string, scratch: string): Promise<Session>;
}

const rawFetch: BenchClient = {
  name: 'fetch',
  label: 'fetch (raw)',
  async open(baseUrl) {
    const url = baseUrl + ROUTE;
    return {
      async post() {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(PAYLOAD) });
        if (!response.ok) throw new Error(`fetch: unexpected ${response.status}`);
        await response.json();
      },
      close: async () => undefined,
    };
  },
};

const kyClient: BenchClient = {
  name: 'ky',
  label: 'ky',
  async open(baseUrl) {
    const url = baseUrl + ROUTE;
    return {
      async post() {
        await ky.post(url, { json: PAYLOAD, retry: 0 }).json();
      },
      close: async () => undefined,
    };
  },
};

export interface StoreWaits {
  createMs: number;
  updateMs: number;
  creates: number;
  updates: number;
}

/** Times the client's writes to the store, through its public interface only; everything else passes through. */
export function timed(store: IntentStore, spent: StoreWaits): IntentStore {
  return {
    get: (scope, id) => store.get(scope, id),
    async create(intent) {
      const start = performance.now();
      try {
        return await store.create(intent);
      } finally {
        spent.createMs += performance.now() - start;
        spent.creates++;
      }
    },
    async update(scope, id, version, change) {
      const start = performance.now();
      try {
        return await store.update(scope, id, version, change);
      } finally {
        spent.updateMs += performance.now() - start;
        spent.updates++;
      }
    },
    claim: (request) => store.claim(request),
    list: (query) => store.list(query),
    compact: () => store.compact(),
    close: () => store.close(),
  };
}

export const noWaits = (): StoreWaits => ({ createMs: 0, updateMs: 0, creates: 0, updates: 0 });

function durable(api: DurableClient): Session['post'] {
  return async () => {
    await api.post(ROUTE, { json: PAYLOAD }).json();
  };
}

const memoryClient: BenchClient = {
  name: 'memoryStore',
  label: 'durable-fetch memoryStore',
  async open(baseUrl) {
    // Wrapped like the sqliteStore, so that both pay for the same timing shim.
    const spent = noWaits();
    const api = createClient({ prefix: baseUrl, store: timed(memoryStore(), spent) });
    return {
      post: durable(api),
      async journal() {
        await api.flush();
        return { commits: 0, writes: spent.creates + spent.updates, createMs: spent.createMs, updateMs: spent.updateMs };
      },
      close: () => api.close(),
    };
  },
};

/** A fresh SQLite journal in its own 0700 directory (mkdtemp), as sqliteStore requires. */
export async function freshJournal(scratch: string, prefix: string): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(scratch, prefix));
  return { dir, path: join(dir, 'intents.db') };
}

const sqliteClient: BenchClient = {
  name: 'sqliteStore',
  label: 'durable-fetch sqliteStore',
  async open(baseUrl, scratch) {
    const { dir, path } = await freshJournal(scratch, 'sqlite-');
    const spent = noWaits();
    const store = sqliteStore(path);
    const api = createClient({ prefix: baseUrl, store: timed(store, spent) });
    return {
      post: durable(api),
      async journal() {
        // Outcomes are written after callers have their answers: counted once they are in.
        await api.flush();
        const stats = await store.stats();
        return { commits: stats.commits, writes: stats.writes, createMs: spent.createMs, updateMs: spent.updateMs };
      },
      async close() {
        await api.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

/**
 * What a careful user might write by hand: one file per intent, made durable the classic way
 * (temp file, fsync, rename, fsync the directory) before the request goes out: two fsyncs per
 * intent, no group commit. It records no outcome afterwards, so it does less than durable-fetch
 * does: a conservative baseline.
 */
const naiveClient: BenchClient = {
  name: 'naive',
  label: 'naive file+fsync+rename',
  async open(baseUrl, scratch) {
    const dir = await mkdtemp(join(scratch, 'naive-'));
    const url = baseUrl + ROUTE;
    const counts = { commits: 0, writes: 0, createMs: 0, updateMs: 0 };
    return {
      async post() {
        const start = performance.now();
        const key = randomUUID();
        const body = JSON.stringify(PAYLOAD);
        const intent = JSON.stringify({ key, method: 'POST', url, body, createdAt: Date.now() });
        const temp = join(dir, `${key}.tmp`);
        const file = await open(temp, 'wx', 0o600);
        try {
          await file.writeFile(intent);
          await file.sync();
        } finally {
          await file.close();
        }
        counts.commits++;
        await rename(temp, join(dir, `${key}.json`));
        const dirHandle = await open(dir, 'r');
        try {
          await dirHandle.sync();
        } finally {
          await dirHandle.close();
        }
        counts.commits++;
        counts.writes++;
        counts.createMs += performance.now() - start;
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body,
        });
        if (!response.ok) throw new Error(`naive: unexpected ${response.status}`);
        await response.json();
      },
      journal: async () => ({ ...counts }),
      async close() {
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

export const CLIENTS: readonly BenchClient[] = [rawFetch, kyClient, memoryClient, sqliteClient, naiveClient];
