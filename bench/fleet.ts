/**
 * npm run bench:fleet [-- --ops N --rounds N]
 *
 * The fleet stores against ky with the server on loopback: postgresStore and redisStore
 * throughput at concurrency 32 (one real PostgreSQL and one real redis-server, started here), as
 * ratios to ky measured in the same rounds; and the relay's latency from commit (PostgreSQL:
 * enqueue in a transaction, then COMMIT; Redis: enqueue) to the request arriving. Targets are
 * printed as PASS/MISS, never asserted.
 */
import { parseArgs } from 'node:util';
import { startPostgres } from '../support/postgres.js';
import { startRedisServer } from '../support/redis-server.js';
import { measureRelayLatency } from './fleet/relay-latency.js';
import { measureThroughput } from './fleet/throughput.js';
import { startLoopbackServer } from './bench/server.js';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' }, relays: { type: 'string', default: '200' } } });
const say = (line = '') => console.log(line);

const server = await startLoopbackServer();
const postgres = await startPostgres();
const redis = await startRedisServer();
try {
  say('== Fleet stores: throughput at concurrency 32 against ky (loopback server, same rounds) ==');
  const rows = await measureThroughput({ baseUrl: server.url, postgresUrl: postgres.url, redisUrl: redis.url, ops: Number(values.ops), rounds: Number(values.rounds) });
  for (const row of rows) say(`  ${row.name.padEnd(14)} ${row.opsPerSecond.toFixed(0).padStart(6)} ops/s  ${row.ratio.toFixed(2)}× ky${row.target ? `  target ≥ ${row.target}× ${row.ratio >= row.target ? 'PASS' : 'MISS'}` : ''}`);
  say();
  say('== Relay latency: from commit to the request at the server ==');
  for (const row of await measureRelayLatency({ postgresUrl: postgres.url, redisUrl: redis.url, samples: Number(values.relays) })) {
    say(`  ${row.name.padEnd(14)} p50 ${row.p50.toFixed(1)} ms  p99 ${row.p99.toFixed(1)} ms  (${row.samples} intents, relay woken by ${row.wokenBy})`);
  }
} finally {
  await server.stop();
  await postgres.destroy();
  await redis.stop();
}
