/**
 * Which durable writes a call waits for. At concurrency 1, calls go one after another through a
 * sqliteStore whose create and update are timed from the outside; each write is matched to its
 * call by key, and set against the moment the caller's promise resolved. Commits come from the
 * store's own counters around the sequence.
 */
import { performance } from 'node:perf_hooks';
import { createClient, type IntentStore } from '../../src/index.node.js';
import { sqliteStore } from '../../src/node.js';
import { freshJournal, PAYLOAD, ROUTE } from './clients.js';
import { median } from './stats.js';
import { rm } from 'node:fs/promises';

interface Write {
  op: 'create' | 'update';
  id: string;
  start: number;
  end: number;
}

export interface CriticalPath {
  calls: number;
  /** From store.stats() around the sequence, every outcome written. */
  commitsPerCall: number;
  writesPerCall: number;
  /** Writes of a call that completed before its caller resolved: the durable writes it waited for. */
  awaitedPerCall: number;
  /** Of those, creates. */
  awaitedCreatesPerCall: number;
  /** Calls whose outcome write started only after the caller resolved, and after it finished. */
  outcomeStartedAfter: number;
  outcomeEndedAfter: number;
  /** Median, ms: create wait; outcome write start and end relative to the caller's resolve. */
  createMs: number;
  outcomeStartMs: number;
  outcomeEndMs: number;
}

function recording(store: IntentStore, writes: Write[]): IntentStore {
  const timed = async <T>(op: Write['op'], id: string, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      writes.push({ op, id, start, end: performance.now() });
    }
  };
  return {
    get: (scope, id) => store.get(scope, id),
    create: (intent) => timed('create', intent.id, () => store.create(intent)),
    update: (scope, id, version, change) => timed('update', id, () => store.update(scope, id, version, change)),
    claim: (request) => store.claim(request),
    list: (query) => store.list(query),
    compact: () => store.compact(),
    close: () => store.close(),
  };
}

export async function measureCriticalPath(baseUrl: string, scratch: string, calls: number): Promise<CriticalPath> {
  const { dir, path } = await freshJournal(scratch, 'critical-');
  const store = sqliteStore(path);
  const writes: Write[] = [];
  const api = createClient({ prefix: baseUrl, store: recording(store, writes) });
  try {
    for (let i = 0; i < 20; i++) await api.post(ROUTE, { json: PAYLOAD }).json();
    await api.flush();
    writes.length = 0;
    const before = await store.stats();
    const resolved: Array<{ key: string; start: number; end: number }> = [];
    for (let i = 0; i < calls; i++) {
      const key = `critical-path-${i}`;
      const start = performance.now();
      const response = await api.post(ROUTE, { json: PAYLOAD, idempotencyKey: key });
      resolved.push({ key, start, end: performance.now() });
      await response.json();
    }
    await api.flush();
    const after = await store.stats();

    let awaited = 0;
    let awaitedCreates = 0;
    let startedAfter = 0;
    let endedAfter = 0;
    const createMs: number[] = [];
    const outcomeStart: number[] = [];
    const outcomeEnd: number[] = [];
    for (const call of resolved) {
      const mine = writes.filter((w) => w.id.endsWith(` ${call.key}`));
      for (const w of mine) {
        if (w.end <= call.end) {
          awaited++;
          if (w.op === 'create') awaitedCreates++;
        }
        if (w.op === 'create') createMs.push(w.end - w.start);
      }
      const outcome = mine.filter((w) => w.op === 'update').at(-1);
      if (outcome) {
        if (outcome.start >= call.end) startedAfter++;
        if (outcome.end > call.end) endedAfter++;
        outcomeStart.push(outcome.start - call.end);
        outcomeEnd.push(outcome.end - call.end);
      }
    }
    return {
      calls,
      commitsPerCall: (after.commits - before.commits) / calls,
      writesPerCall: (after.writes - before.writes) / calls,
      awaitedPerCall: awaited / calls,
      awaitedCreatesPerCall: awaitedCreates / calls,
      outcomeStartedAfter: startedAfter,
      outcomeEndedAfter: endedAfter,
      createMs: median(createMs),
      outcomeStartMs: median(outcomeStart),
      outcomeEndMs: median(outcomeEnd),
    };
  } finally {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}
