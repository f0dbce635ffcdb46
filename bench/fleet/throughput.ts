/** Throughput of keyed writes through the fleet stores, interleaved with ky in each round. */
import ky from 'ky';
import pg from 'pg';
import { createClient, type DurableClient } from '../../src/index.node.js';
import { postgresStore } from '../../src/postgres.js';
import { redisStore } from '../../src/redis.js';
import { runPool } from '../../support/pool.js';
import { median } from '../bench/stats.js';

const PAYLOAD = { amount: 500, currency: 'usd', memo: 'bench payout' };
const CONCURRENCY = 32;

export interface ThroughputRow {
  name: string;
  opsPerSecond: number;
  ratio: number;
  target?: number;
}

interface Options {
  baseUrl: string;
  postgresUrl: string;
  redisUrl: string;
  ops: number;
  rounds: number;
}

async function timed(ops: number, post: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await runPool(ops, CONCURRENCY, () => post());
  return ops / ((performance.now() - started) / 1000);
}

export async function measureThroughput({ baseUrl, postgresUrl, redisUrl, ops, rounds }: Options): Promise<ThroughputRow[]> {
  const pool = new pg.Pool({ connectionString: postgresUrl, max: CONCURRENCY });
  const clients: Record<string, DurableClient> = {
    postgresStore: createClient({ prefix: baseUrl, store: postgresStore({ pool, table: `bench_${process.pid}` }) }),
    redisStore: createClient({ prefix: baseUrl, store: redisStore({ url: redisUrl, keyPrefix: `bench-${process.pid}:` }) }),
  };
  const samples: Record<string, number[]> = { ky: [], postgresStore: [], redisStore: [] };
  // Warm up each (connections, table creation, scripts loaded) before anything is counted.
  for (const client of Object.values(clients)) await timed(100, () => client.post('v1/payouts', { json: PAYLOAD }));
  for (let round = 0; round < rounds; round++) {
    samples.ky!.push(await timed(ops, () => ky.post(`${baseUrl}v1/payouts`, { json: PAYLOAD, retry: 0 }).json()));
    for (const [name, client] of Object.entries(clients)) {
      samples[name]!.push(await timed(ops, () => client.post('v1/payouts', { json: PAYLOAD }).json()));
      await client.flush();
    }
  }
  for (const client of Object.values(clients)) await client.close();
  await pool.end();
  const kyOps = median(samples.ky!);
  return [
    { name: 'ky', opsPerSecond: kyOps, ratio: 1 },
    { name: 'postgresStore', opsPerSecond: median(samples.postgresStore!), ratio: median(samples.postgresStore!) / kyOps, target: 0.6 },
    { name: 'redisStore', opsPerSecond: median(samples.redisStore!), ratio: median(samples.redisStore!) / kyOps, target: 0.7 },
  ];
}
