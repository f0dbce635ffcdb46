/**
 * The test server as its own process, for child-process tests and browser test setup:
 *
 *   node --import tsx support/server/main.ts --dialect seed004 --port 0 [--key-ttl-ms 90000]
 *     [--fault-first drop-after,status:503,rate-limit:1,slow:2000,drop-before,in-flight,no-answer]
 *     [--seed 1] [--probability 0.8] [--exit-with-stdin]
 *
 * Prints one JSON line {"url":...,"port":...,"dialect":...} once listening; runs until SIGTERM or
 * SIGINT, or with --exit-with-stdin until stdin closes (so it dies with a parent that forgot it).
 * Script faults at runtime through /__control/ (see control.ts).
 */
import { parseArgs } from 'node:util';
import { isDialect, type Dialect } from './dialects.js';
import { faultOnFirstAttempts, type Fault } from './faults.js';
import { startTestServer } from './index.js';

function parseFault(spec: string): Fault {
  const [kind, arg] = spec.split(':');
  switch (kind) {
    case 'drop-before':
    case 'drop-after':
    case 'in-flight':
    case 'no-answer':
      return { kind };
    case 'status':
      return { kind, status: Number(arg ?? 503) };
    case 'rate-limit':
      return { kind, retryAfter: arg ?? '1' };
    case 'slow':
      return { kind, ms: Number(arg ?? 1000) };
    default:
      throw new Error(`unknown fault "${spec}"`);
  }
}

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'seed004' },
    port: { type: 'string', default: '0' },
    'key-ttl-ms': { type: 'string' },
    'fault-first': { type: 'string' },
    seed: { type: 'string', default: '1' },
    probability: { type: 'string' },
    'exit-with-stdin': { type: 'boolean', default: false },
  },
});

if (!isDialect(values.dialect)) {
  process.stderr.write(`unknown dialect ${values.dialect}\n`);
  process.exit(2);
}
const dialect: Dialect = values.dialect;
const faultKinds = values['fault-first']?.split(',').filter(Boolean).map(parseFault);

const server = await startTestServer({
  dialect,
  port: Number(values.port),
  ...(values['key-ttl-ms'] ? { keyTtlMs: Number(values['key-ttl-ms']) } : {}),
  ...(faultKinds?.length
    ? {
        faults: faultOnFirstAttempts(faultKinds, Number(values.seed), {
          ...(values.probability ? { probability: Number(values.probability) } : {}),
        }),
      }
    : {}),
});

process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port, dialect })}\n`);

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  void server.close().then(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (values['exit-with-stdin']) {
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}
