/**
 * How long an enqueued intent waits for a relay: from the commit that makes it visible to its
 * request's arrival at the server. The relay polls only every 10 s here, so what is measured is
 * the store's notification (PostgreSQL NOTIFY, Redis pub/sub), not the poll.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createClient } from '../../src/index.node.js';
import { postgresStore } from '../../src/postgres.js';
import { redisStore } from '../../src/redis.js';
import type { IntentStore } from '../../src/index.js';
import { percentile } from '../bench/stats.js';

export interface LatencyRow {
  name: string;
  p50: number;
  p99: number;
  samples: number;
  wokenBy: string;
}

interface Options {
  postgresUrl: string;
  redisUrl: string;
  samples: number;
}

/** A server that reports when each key arrives. */
async function arrivals(): Promise<{ url: string; next(key: string): Promise<number>; close(): Promise<void> }> {
  const waiting = new Map<string, (at: number) => void>();
  const server = createServer((req, res) => {
    const at = performance.now();
    req.resume();
    req.on('end', () => {
      waiting.get(String(req.headers['idempotency-key']))?.(at);
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    next: (key) => new Promise((resolve) => waiting.set(key, resolve)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function measure(name: string, store: () => IntentStore, samples: number, enqueue: (api: ReturnType<typeof createClient>, key: string) => Promise<number>): Promise<LatencyRow> {
  const server = await arrivals();
  const relayClient = createClient({ prefix: server.url, store: store() });
  const writer = createClient({ prefix: server.url, store: store() });
  const stop = new AbortController();
  const relay = relayClient.relay({ signal: stop.signal, pollMs: 10_000 });
  await writer.pending();
  const latencies: number[] = [];
  for (let i = 0; i < samples + 10; i++) {
    const key = `${name}-${i}`;
    const arrived = server.next(key);
    const committedAt = await enqueue(writer, key);
    const latency = (await arrived) - committedAt;
    if (i >= 10) latencies.push(latency); // the first few warm connections and scripts up
  }
  stop.abort();
  await relay;
  await relayClient.close();
  await writer.close();
  await server.close();
  latencies.sort((a, b) => a - b);
  return { name, p50: percentile(latencies, 50), p99: percentile(latencies, 99), samples, wokenBy: name === 'postgresStore' ? 'NOTIFY on commit' : 'pub/sub' };
}

export async function measureRelayLatency({ postgresUrl, redisUrl, samples }: Options): Promise<LatencyRow[]> {
  const pool = new pg.Pool({ connectionString: postgresUrl });
  const table = `relay_bench_${process.pid}`;
  const postgres = await measure('postgresStore', () => postgresStore({ pool, table }), samples, async (api, key) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await api.enqueue('POST', 'v1/payouts', { json: { key }, idempotencyKey: key, transaction: client });
      await client.query('COMMIT');
      return performance.now();
    } finally {
      client.release();
    }
  });
  await pool.end();
  const keyPrefix = `relay-bench-${process.pid}:`;
  const redis = await measure('redisStore', () => redisStore({ url: redisUrl, keyPrefix }), samples, async (api, key) => {
    await api.enqueue('POST', 'v1/payouts', { json: { key }, idempotencyKey: key });
    return performance.now();
  });
  return [postgres, redis];
}
