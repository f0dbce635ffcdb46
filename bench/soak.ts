/**
 * npm run soak [-- --store memory|sqlite|both --operations N --concurrency N --seed N --dialects a,b,c --deadline-ms N]
 *
 * One soak per store (default both: sqlite, then memory; one seed for both). Exits 0 when, in
 * every one, every operation was applied exactly once with a key and no read carried one; 1
 * otherwise, or when a deadline passed.
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { exitCodeFor, formatReport } from '../support/soak/report.js';
import { runSoak, SOAK_STORES, type SoakOptions, type SoakStore } from '../support/soak/run.js';
import { isDialect, type Dialect } from '../support/server/index.js';

function integer(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new TypeError(`--${flag} must be a non-negative integer, got "${text}".`);
  return value;
}

function dialectList(text: string | undefined): Dialect[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) if (!isDialect(name)) throw new TypeError(`--dialects: unknown dialect "${name}".`);
  return names as Dialect[];
}

function storeList(text: string | undefined): SoakStore[] {
  if (text === undefined || text === 'both') return ['sqlite', 'memory'];
  if (!(SOAK_STORES as readonly string[]).includes(text)) throw new TypeError(`--store must be memory, sqlite or both, got "${text}".`);
  return [text as SoakStore];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      operations: { type: 'string' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
      dialects: { type: 'string' },
      'deadline-ms': { type: 'string' },
      store: { type: 'string' },
    },
    strict: true,
  });
  const stores = storeList(values.store);
  const options: SoakOptions = {
    operations: integer('operations', values.operations),
    concurrency: integer('concurrency', values.concurrency),
    // One seed for every store, so their runs face the same faults.
    seed: integer('seed', values.seed) ?? randomInt(0, 2 ** 31),
    dialects: dialectList(values.dialects),
    deadlineMs: integer('deadline-ms', values['deadline-ms']),
  };
  const deadlineMs = options.deadlineMs ?? 300_000;

  // runSoak aborts its calls at each deadline; this only stops a run that hangs even so.
  const limitMs = stores.length * (deadlineMs + 30_000);
  setTimeout(() => {
    console.error(`soak: still running ${limitMs} ms after start; giving up.`);
    process.exit(1);
  }, limitMs).unref();

  let code: 0 | 1 = 0;
  for (const [i, store] of stores.entries()) {
    const report = await runSoak({ ...options, store });
    if (i > 0) console.log();
    console.log(formatReport(report));
    code = Math.max(code, exitCodeFor(report)) as 0 | 1;
  }
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
