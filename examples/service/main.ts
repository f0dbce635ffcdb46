/**
 * A Node backend that pays refunds through an idempotent API with durable-fetch. At start-up,
 * before it takes any request, it recovers the refunds a previous process started and never saw
 * answered (it was killed, the host went down), and logs how each one ended.
 *
 *   npm run example:service -- [--port 4020] [--api URL] [--journal DIR] [--fault-rate 0.3]
 *   curl -X POST localhost:4020/orders/42/refund -H 'content-type: application/json' -d '{"customer":"ada@example.com","amount":2500}'
 *
 * Without --api the demo API runs inside this process and forgets everything when it exits; to
 * kill the service and watch it recover, start it on its own with `npm run demo-api` and pass --api.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from 'durable-fetch';
import { fileStore } from 'durable-fetch/node';
import { type DemoApi, startDemoApi } from '../demo-api/index.js';
import { refundHandler } from './refunds.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4020' },
    api: { type: 'string' },
    journal: { type: 'string' },
    'fault-rate': { type: 'string', default: '0.3' },
  },
});
const journalDir = values.journal ?? process.env.SERVICE_JOURNAL ?? fileURLToPath(new URL('.journal', import.meta.url));
const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 23)}  ${line}`);

let demo: DemoApi | undefined;
let apiUrl = values.api ?? process.env.SERVICE_API;
if (apiUrl === undefined) {
  // A fixed port: recover() resends an intent to the URL it was journaled with.
  demo = await startDemoApi({ port: 4010, faultRate: Number(values['fault-rate']), log: (line) => log(`  demo API: ${line}`) });
  apiUrl = demo.url;
  log(`demo API started in this process at ${apiUrl}`);
}

const store = fileStore(journalDir);
const api = createClient({
  prefix: apiUrl,
  headers: { Authorization: `Bearer ${process.env.DEMO_API_KEY ?? 'sk_demo_shop'}` },
  store,
  // Journaled refunds are found by scope, key and route: a fixed scope keeps finding them if the
  // payments API's address changes between deployments.
  scope: 'refund-service',
  // Enough to wait out a few `409 in progress` (Retry-After: 1) while the API still holds the
  // answer a killed process was waiting for.
  retry: { limit: 6 },
  on: {
    retry: ({ idempotencyKey, attempt, reason, delay }) => log(`  ${idempotencyKey}: retry ${attempt} in ${Math.round(delay)} ms after ${reason}`),
    recovery: ({ idempotencyKey, state, error }) =>
      log(`recovered ${idempotencyKey}: ${state}${error === undefined ? '' : ` (${error instanceof Error ? error.message : String(error)})`}`),
  },
});

// Before listening: a refund the last process left in flight is settled (or reported still
// pending) first, even if its client has given up and will never retry it.
log(`start-up: recovering refunds left in flight, journal ${relative(process.cwd(), journalDir) || '.'}`);
const outcomes = await api.recover();
log(`start-up: ${outcomes.length} refund(s) recovered`);

const server = createServer(refundHandler(api, log));
await new Promise<void>((resolve) => server.listen(Number(values.port), '127.0.0.1', resolve));
log(`refund service listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void Promise.all([store.close(), demo?.close()]).then(() => process.exit(0));
  });
}
