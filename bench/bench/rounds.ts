/**
 * The interleaved measurement: every round runs every client at every concurrency, in an order
 * rotated from round to round, so a machine that speeds up or slows down over the run (a shared
 * host, a warming disk) is spread over all clients instead of landing on whichever ran last.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CLIENTS, type BenchClient, type ClientName, type JournalCounts } from './clients.js';
import { emptySamples, sampleDisk, type DiskSamples } from './disk.js';
import { runLoad, type LoadResult } from './load.js';

export interface Measurement extends LoadResult {
  client: ClientName;
  round: number;
  /** Over the timed operations only. */
  journal?: JournalCounts;
  /** Event-loop delay during the timed operations. */
  loopDelay: LoopDelay;
}

/**
 * How late the event loop ran a timer due every LOOP_SAMPLE_MS, in ms. Node's histogram records
 * the time between samples, interval included (an idle loop reads about 1 ms); the interval is
 * taken off here, so 0 means on time.
 */
export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const LOOP_SAMPLE_MS = 1;

export interface RoundsOptions {
  baseUrl: string;
  scratch: string;
  rounds: number;
  ops: number;
  concurrencies: readonly number[];
  /** Untimed calls before each measurement: a fresh journal pays for opening its file and worker here. */
  warmupOps: number;
  /** fsync samples of each kind taken per round. */
  diskSamples: number;
  progress: (line: string) => void;
}

export interface RoundsResult {
  measurements: Measurement[];
  disk: DiskSamples;
}

const rotate = <T>(items: readonly T[], by: number): T[] => items.map((_, i) => items[(i + by) % items.length]!);

function minus(after: JournalCounts, before: JournalCounts): JournalCounts {
  const delta = {} as JournalCounts;
  for (const key of Object.keys(after) as Array<keyof JournalCounts>) delta[key] = after[key] - before[key];
  return delta;
}

async function measure(client: BenchClient, concurrency: number, round: number, options: RoundsOptions): Promise<Measurement> {
  const session = await client.open(options.baseUrl, options.scratch);
  try {
    await runLoad(session.post, options.warmupOps, concurrency);
    const before = await session.journal?.();
    const histogram = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
    histogram.enable();
    const result = await runLoad(session.post, options.ops, concurrency);
    histogram.disable();
    const after = await session.journal?.();
    const delay = (ns: number) => Math.max(0, ns / 1e6 - LOOP_SAMPLE_MS);
    const loopDelay = { p50Ms: delay(histogram.percentile(50)), p99Ms: delay(histogram.percentile(99)), maxMs: delay(histogram.max) };
    return { ...result, client: client.name, round, loopDelay, ...(before && after ? { journal: minus(after, before) } : {}) };
  } finally {
    await session.close();
  }
}

export async function runRounds(options: RoundsOptions): Promise<RoundsResult> {
  const measurements: Measurement[] = [];
  const disk = emptySamples();

  // JIT, connection pool and page cache warm for everyone before anything counts.
  for (const client of CLIENTS) {
    for (const concurrency of options.concurrencies) await measure(client, concurrency, -1, { ...options, ops: Math.min(options.ops, 200) });
  }

  for (let round = 0; round < options.rounds; round++) {
    const start = Date.now();
    await sampleDisk(options.scratch, options.diskSamples, disk);
    const concurrencies = round % 2 === 0 ? options.concurrencies : [...options.concurrencies].reverse();
    const order = rotate(CLIENTS, round);
    for (const concurrency of concurrencies) {
      for (const client of order) measurements.push(await measure(client, concurrency, round, options));
    }
    options.progress(`round ${round + 1}/${options.rounds} done in ${((Date.now() - start) / 1000).toFixed(1)} s (order: ${order.map((c) => c.name).join(', ')})`);
  }
  return { measurements, disk };
}
