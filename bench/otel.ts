/**
 * npm run bench:otel [-- --ops N --rounds N]
 *
 * What tracing costs per call: the same memoryStore client with and without `on: tracing()`
 * (spans to an in-memory exporter), against a loopback server, interleaved in each round.
 */
import { parseArgs } from 'node:util';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createClient, type DurableClient, memoryStore } from '../src/index.node.js';
import { tracing } from '../src/otel.js';
import { median } from './bench/stats.js';
import { startLoopbackServer } from './bench/server.js';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '5' } } });
const ops = Number(values.ops);
const exporter = new InMemorySpanExporter();
const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('bench');
const server = await startLoopbackServer();

async function microsPerCall(client: DurableClient): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < ops; i++) await client.post('v1/payouts', { json: { amount: i } }).json();
  await client.flush();
  return ((performance.now() - started) * 1000) / ops;
}

const plain: number[] = [];
const traced: number[] = [];
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    plain.push(await microsPerCall(createClient({ prefix: server.url, store: memoryStore() })));
    traced.push(await microsPerCall(createClient({ prefix: server.url, store: memoryStore(), on: tracing({ tracer }) })));
    exporter.reset();
  }
} finally {
  await server.stop();
}
const [off, on] = [median(plain), median(traced)];
console.log(`tracing off: ${off.toFixed(0)} µs per call; on: ${on.toFixed(0)} µs per call (+${(on - off).toFixed(0)} µs, ${((on / off - 1) * 100).toFixed(1)}%), concurrency 1, median of ${values.rounds} rounds of ${ops}`);
