/**
 * Crash-safe payouts: pays every row of a CSV once, however often the script is killed and re-run.
 * One stable key per row (`payout-<id>`), journaled in SQLite before the request leaves; on start,
 * whatever an earlier run left in flight is recovered first (once that run's lease has run out),
 * and rows already paid are answered from the journal without a request.
 *
 *   npm run example:payouts -- [payouts.csv] [--api URL] [--journal FILE] [--fault-rate 0.3]
 *
 * Without --api the demo API runs inside this process (and forgets everything when it exits);
 * to kill and re-run, start it on its own with `npm run demo-api` and pass --api.
 */
import { relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, HTTPError } from 'durable-fetch';
import { sqliteStore } from 'durable-fetch/node';
import { type DemoApi, startDemoApi } from '../demo-api/index.js';
import { createReporter, type Reporter } from './progress.js';
import { readPayouts } from './rows.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    api: { type: 'string' },
    journal: { type: 'string' },
    'fault-rate': { type: 'string', default: '0.3' },
  },
});
const csvPath = positionals[0] ?? fileURLToPath(new URL('payouts.csv', import.meta.url));
// The SQLite journal; its directory is made owner-only (0700), as it holds the request bodies.
const journalPath = values.journal ?? process.env.PAYOUTS_JOURNAL ?? fileURLToPath(new URL('.idempotency/intents.db', import.meta.url));
const show = (path: string) => relative(process.cwd(), path) || '.';

const rows = await readPayouts(csvPath);

let demo: DemoApi | undefined;
let apiUrl = values.api ?? process.env.PAYOUTS_API;
if (apiUrl === undefined) {
  // A fixed port: recover() resends an intent to the URL it was journaled with.
  demo = await startDemoApi({ port: 4010, faultRate: Number(values['fault-rate']) }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    console.error('Port 4010 is taken. If `npm run demo-api` is running there, pass --api http://127.0.0.1:4010');
    process.exit(1);
  });
  apiUrl = demo.url;
  console.log(`demo API started in this process at ${apiUrl}; it forgets everything when this process exits.`);
  console.log('To kill this script and re-run it against an API that remembers: npm run demo-api, then --api http://127.0.0.1:4010');
}
console.log(`paying ${rows.length} payouts from ${show(csvPath)} through ${apiUrl}, journal ${show(journalPath)}`);

const reporter: Reporter = createReporter(process.stdout, rows.length);
process.once('SIGINT', () => {
  // Leaves the shell prompt below the bar; the journal needs no cleanup, that is its point (a
  // payout answered just now but not yet recorded is still pending: the next run recovers it).
  process.stdout.write('\n');
  process.exit(130);
});

/** Who answered each row without paying it again, as the client's events report it. */
const answeredBy = new Map<string, 'journal' | 'api'>();
const api = createClient({
  prefix: apiUrl,
  headers: { Authorization: `Bearer ${process.env.DEMO_API_KEY ?? 'sk_demo_payouts'}` },
  store: sqliteStore(journalPath),
  // recover() takes only this scope's intents: other scripts sharing the journal keep theirs.
  scope: 'payouts-example',
  // A killed run keeps its claim on the payout it was sending until its lease runs out, and a
  // re-run waits that long before it recovers it. Short for a script; renewed every leaseMs/3
  // while a payout is in flight, so a live run never loses it.
  leaseMs: 5_000,
  // Below the demo API's slow answer (1.5 s), so a slow payout takes the lost-answer path: a
  // timeout, a 409 while the first attempt is still in flight, then the API's replay.
  timeout: 1_000,
  retry: { limit: 6 },
  on: {
    retry: ({ idempotencyKey, attempt, reason, delay }) => reporter.retry(idempotencyKey, attempt, reason, delay),
    replay: ({ idempotencyKey }) => answeredBy.set(idempotencyKey, 'api'),
    journalAnswer: ({ idempotencyKey, state }) => {
      if (state === 'succeeded') answeredBy.set(idempotencyKey, 'journal');
    },
  },
});

function reason(error: unknown): string {
  if (error instanceof HTTPError) return `${error.response.status} from the API`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// First what a killed run left in flight: resent with its original key, so the API replays it
// if it was applied, and applies it now if it was not. recover() claims only intents whose
// lease has ended, so wait out the lease the killed run still holds.
const held = (await api.pending()).filter((intent) => intent.leaseUntil > Date.now());
if (held.length > 0) {
  const waitMs = Math.max(...held.map((intent) => intent.leaseUntil)) - Date.now();
  reporter.note(`waiting ${Math.ceil(waitMs / 1000)} s for an earlier run's lease on ${held.map((intent) => intent.idempotencyKey).join(', ')}`);
  await sleep(waitMs + 1);
}
const recovered = await api.recover();
if (recovered.length === 0) reporter.note('recover(): nothing left in flight by an earlier run');
for (const outcome of recovered) {
  const how = outcome.state === 'succeeded' ? (outcome.response?.replayed ? 'succeeded (the API had applied it)' : 'succeeded') : outcome.state;
  reporter.note(`recover(): ${outcome.idempotencyKey} ${how}${outcome.error === undefined ? '' : `: ${reason(outcome.error)}`}`);
}

for (const row of rows) {
  const idempotencyKey = `payout-${row.id}`;
  try {
    const response = await api.post('v1/payouts', { json: { id: row.id, recipient: row.recipient, amount: row.amount }, idempotencyKey });
    const by = answeredBy.get(idempotencyKey);
    reporter.row(row, by === undefined ? { kind: 'sent', attempts: response.attempts } : { kind: 'replayed', by });
  } catch (error) {
    reporter.row(row, { kind: 'failed', reason: reason(error) });
  }
}

const { sent, replayed, failed, retries } = reporter.tally;
const paid = sent + replayed;
const counts = `sent ${sent}, replayed ${replayed}, failed ${failed}, retries ${retries}`;
reporter.finish(failed === 0 ? `done ${paid}/${rows.length} payouts paid (${counts})` : `unfinished ${paid}/${rows.length} payouts paid (${counts}); run again to finish`);

// The API's own record: the proof that no row was paid twice.
try {
  const { data } = await api.get('v1/payouts').json<{ data: Array<{ reference: string }> }>();
  const times = new Map<string, number>();
  for (const payout of data) times.set(payout.reference, (times.get(payout.reference) ?? 0) + 1);
  const onRecord = rows.filter((row) => times.has(row.id)).length;
  const twice = rows.filter((row) => (times.get(row.id) ?? 0) > 1).length;
  const forgetful = demo !== undefined && onRecord < rows.length ? ' (the in-process API knows only this run)' : '';
  console.log(`API ledger: ${onRecord}/${rows.length} rows on record, ${twice} paid twice${forgetful}`);
} catch (error) {
  console.log(`API ledger not read: ${reason(error)}`);
}

// Outcomes are recorded just after each answer: close() waits for the last ones, then the journal.
await api.close();
await demo?.close();
process.exitCode = failed === 0 ? 0 : 1;
