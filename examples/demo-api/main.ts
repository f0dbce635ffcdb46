/**
 * The demo API on its own, so examples can be killed and re-run against an API that remembers.
 *
 *   tsx examples/demo-api/main.ts --port 4010 --fault-rate 0.3 [--seed 7] [--faults slow,lost-answer] [--slow-ms 1500] [--host 0.0.0.0]
 */
import { parseArgs } from 'node:util';
import { FAULT_KINDS, isFaultKind, SLOW_ANSWER_MS, startDemoApi } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4010' },
    host: { type: 'string', default: '127.0.0.1' },
    'fault-rate': { type: 'string', default: '0.3' },
    seed: { type: 'string' },
    faults: { type: 'string', default: FAULT_KINDS.join(',') },
    'slow-ms': { type: 'string', default: String(SLOW_ANSWER_MS) },
  },
});

const names = values.faults.split(',').map((name) => name.trim());
const faults = names.filter(isFaultKind);
const unknown = names.filter((name) => !isFaultKind(name));
if (unknown.length > 0) {
  console.error(`Unknown fault ${unknown.join(', ')}; choose from ${FAULT_KINDS.join(', ')}.`);
  process.exit(2);
}

const api = await startDemoApi({
  port: Number(values.port),
  host: values.host,
  faultRate: Number(values['fault-rate']),
  seed: values.seed === undefined ? undefined : Number(values.seed),
  faults,
  slowMs: Number(values['slow-ms']),
  log: (line) => console.log(`${new Date().toISOString().slice(11, 23)}  ${line}`),
});
console.log(`demo API listening on ${api.url}`);
console.log(`faults on ${Math.round(Number(values['fault-rate']) * 100)}% of first attempts: ${faults.join(', ')}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void api.close().then(() => process.exit(0)));
}
