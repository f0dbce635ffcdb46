/**
 * `npm run example:checkout`: starts the demo API (with faults, so retries show) and the Vite dev
 * server for the checkout page, which reaches the API through the dev server's `/api` proxy.
 *
 * Environment: FAULT_RATE (0..1, default 0.5), FAULTS (fault kinds, comma-separated), SEED,
 * API_PORT, PORT (default 5173 or the next free).
 */
import { createServer } from 'vite';
import { FAULT_KINDS, type FaultKind, startDemoApi } from '../demo-api/index.js';
import { checkoutConfig } from './vite.config.js';

function numberFrom(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new TypeError(`${name} must be a number, got "${raw}".`);
  return value;
}

function faultsFrom(name: string): FaultKind[] | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const kinds = raw.split(',').map((kind) => kind.trim());
  for (const kind of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new TypeError(`${name}: unknown fault "${kind}"; known: ${FAULT_KINDS.join(', ')}.`);
  }
  return kinds as FaultKind[];
}

const api = await startDemoApi({
  host: '127.0.0.1',
  port: numberFrom('API_PORT') ?? 0,
  faultRate: numberFrom('FAULT_RATE') ?? 0.5,
  faults: faultsFrom('FAULTS'),
  seed: numberFrom('SEED'),
  log: (line) => console.log(`[api] ${line}`),
});

const vite = await createServer({
  configFile: false,
  ...checkoutConfig({ apiUrl: api.url, port: numberFrom('PORT') }),
});
await vite.listen();

console.log(`\nDemo API:  ${api.url}`);
console.log(`Checkout:  ${vite.resolvedUrls?.local[0] ?? 'see above'}\n`);
console.log('Click "Buy credits", reload while it is in flight, and watch the next load recover it. Ctrl-C stops.');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([vite.close(), api.close()]);
  process.exit(0);
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
