import { performance } from 'node:perf_hooks';
import { runPool } from '../../support/pool.js';
import { percentile } from './stats.js';

export interface LoadResult {
  ops: number;
  concurrency: number;
  ms: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** This process's CPU (all its threads, the fs thread pool included) per operation. */
  cpuUsPerOp: number;
}

/** `ops` calls of `post`, `concurrency` at a time: each worker starts its next call as soon as its last one ends. */
export async function runLoad(post: () => Promise<void>, ops: number, concurrency: number): Promise<LoadResult> {
  const latencies = new Float64Array(ops);
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  await runPool(ops, concurrency, async (i) => {
    const started = performance.now();
    await post();
    latencies[i] = performance.now() - started;
  });
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort();
  return {
    ops,
    concurrency,
    ms,
    opsPerSec: (ops / ms) * 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPerOp: (cpu.user + cpu.system) / ops,
  };
}
