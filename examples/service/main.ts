/**
 * A Node backend that pays refunds through an idempotent API with durable-fetch. From start-up
 * until it stops, `relay()` finishes the refunds nobody is sending any more: those a previous
 * process started and never saw answered (it was killed, the host went down), once its lease has
 * run out, and those whose client gave up. It logs how each one ended.
 *
 *   npm run example:service -- [--port 4020] [--api URL] [--journal FILE] [--fault-rate 0.3]
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
import { sqliteStore } from 'durable-fetch/node';
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
// The SQLite journal; its directory is made owner-only (0700), as it holds the request bodies.
const journalPath = values.journal ?? process.env.SERVICE_JOURNAL ?? fileURLToPath(new URL('.idempotency/intents.db', import.meta.url));
const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 23)}  ${line}`);

let demo: DemoApi | undefined;
let apiUrl = values.api ?? process.env.SERVICE_API;
if (apiUrl === undefined) {
  // A fixed port: a restarted service finishes only the intents journaled for its own origin.
  demo = await startDemoApi({ port: 4010, faultRate: Number(values['fault-rate']), log: (line) => log(`  demo API: ${line}`) });
  apiUrl = demo.url;
  log(`demo API started in this process at ${apiUrl}`);
}

const api = createClient({
  prefix: apiUrl,
  headers: { Authorization: `Bearer ${process.env.DEMO_API_KEY ?? 'sk_demo_shop'}` },
  store: sqliteStore(journalPath),
  // relay() takes only this scope's intents: other programs sharing the journal keep theirs.
  scope: 'refund-service',
  // A refund a killed process was sending stays its own until this lease runs out; then the relay
  // (or a client's retry) takes it over. Renewed every leaseMs/3 while a refund is in flight.
  leaseMs: 5_000,
  // Enough to wait out a few `409 in progress` (Retry-After: 1) while the API still holds the
  // answer a killed process was waiting for.
  retry: { limit: 6 },
  on: {
    retry: ({ idempotencyKey, attempt, reason, delay }) => log(`  ${idempotencyKey}: retry ${attempt} in ${Math.round(delay)} ms after ${reason}`),
    recovery: ({ idempotencyKey, state, error }) =>
      log(`recovered ${idempotencyKey}: ${state}${error === undefined ? '' : ` (${error instanceof Error ? error.message : String(error)})`}`),
  },
});

// Runs until shutdown: each refund nobody is sending any more is resent with its original key, so
// the API replays what it already paid, even if its client has given up and will never retry.
const stopRelay = new AbortController();
const relaying = api.relay({ signal: stopRelay.signal }).catch((error: unknown) => log(`relay stopped: ${String(error)}`));
log(`start-up: relaying refunds left in flight, journal ${relative(process.cwd(), journalPath) || '.'}`);

const server = createServer(refundHandler(api, log));
await new Promise<void>((resolve) => server.listen(Number(values.port), '127.0.0.1', resolve));
log(`refund service listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    stopRelay.abort();
    // close() waits for the outcomes still being recorded, then releases the journal.
    void relaying
      .then(() => api.close())
      .then(() => demo?.close())
      .then(() => process.exit(0));
  });
}
