/**
 * The clients compared, each behind one `post()` that sends the same JSON and reads the answer's
 * body, so every one of them does the whole round trip a caller would.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import ky from 'ky';
import { createClient, memoryStore, type IntentStore } from '../../src/index.node.js';
import { fileStore } from '../../src/node.js';

export const PAYLOAD = { amount: 500, currency: 'usd', destination: 'acct_1HvY7zB2eZvKYlo2', memo: 'bench payout' };
const ROUTE = 'v1/payouts';

export interface JournalCounts {
  /** Journal fsyncs on the write path. */
  file: number;
  /** Directory fsyncs on the write path (new segment or intent file names). */
  dir: number;
  /** Every fsync, compaction's included. */
  all: number;
  /** Records written. */
  records: number;
  /** Wall time the client spent waiting on the store's get and put: where added latency goes. */
  getMs: number;
  putMs: number;
}

export interface Session {
  post(): Promise<void>;
  /** Counted since the session opened; only clients that write to disk have them. */
  journal?(): JournalCounts;
  close(): Promise<void>;
}

export type ClientName = 'fetch' | 'ky' | 'memoryStore' | 'fileStore' | 'naive';

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

/** Times the client's calls into the store, through its public interface only. */
function timed(store: IntentStore, spent: { getMs: number; putMs: number }): IntentStore {
  return {
    async get(scope, id) {
      const start = performance.now();
      try {
        return await store.get(scope, id);
      } finally {
        spent.getMs += performance.now() - start;
      }
    },
    async put(intent) {
      const start = performance.now();
      try {
        await store.put(intent);
      } finally {
        spent.putMs += performance.now() - start;
      }
    },
    list: (scope) => store.list(scope),
  };
}

function durable(store: IntentStore, baseUrl: string): Session['post'] {
  const api = createClient({ prefix: baseUrl, store });
  return async () => {
    await api.post(ROUTE, { json: PAYLOAD }).json();
  };
}

const memoryClient: BenchClient = {
  name: 'memoryStore',
  label: 'durable-fetch memoryStore',
  async open(baseUrl) {
    // Wrapped like the fileStore, so that both pay for the same timing shim.
    return { post: durable(timed(memoryStore(), { getMs: 0, putMs: 0 }), baseUrl), close: async () => undefined };
  },
};

const fileClient: BenchClient = {
  name: 'fileStore',
  label: 'durable-fetch fileStore',
  async open(baseUrl, scratch) {
    const dir = await mkdtemp(join(scratch, 'filestore-'));
    let all = 0;
    const spent = { getMs: 0, putMs: 0 };
    const store = fileStore(dir, { onSync: () => void all++ });
    return {
      post: durable(timed(store, spent), baseUrl),
      journal() {
        const stats = store.stats();
        return { file: stats.fileSyncs, dir: stats.dirSyncs, all, records: stats.records, ...spent };
      },
      async close() {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

/**
 * What a careful user might write by hand: one file per intent, made durable the classic way
 * (temp file, fsync, rename, fsync the directory) before the request goes out. It records no
 * outcome afterwards, so it does less than durable-fetch does: a conservative baseline.
 */
const naiveClient: BenchClient = {
  name: 'naive',
  label: 'naive file+fsync+rename',
  async open(baseUrl, scratch) {
    const dir = await mkdtemp(join(scratch, 'naive-'));
    const url = baseUrl + ROUTE;
    const counts = { file: 0, dir: 0, records: 0, putMs: 0 };
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
        counts.file++;
        await rename(temp, join(dir, `${key}.json`));
        const dirHandle = await open(dir, 'r');
        try {
          await dirHandle.sync();
        } finally {
          await dirHandle.close();
        }
        counts.dir++;
        counts.records++;
        counts.putMs += performance.now() - start;
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body,
        });
        if (!response.ok) throw new Error(`naive: unexpected ${response.status}`);
        await response.json();
      },
      journal: () => ({ ...counts, all: counts.file + counts.dir, getMs: 0 }),
      async close() {
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

export const CLIENTS: readonly BenchClient[] = [rawFetch, kyClient, memoryClient, fileClient, naiveClient];
