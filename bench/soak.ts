/**
 * npm run soak [-- --operations N --concurrency N --seed N --dialects a,b,c --deadline-ms N]
 *
 * Exits 0 when every operation was applied exactly once with a key and no read carried one;
 * 1 otherwise, or when the deadline passed.
 */
import { parseArgs } from 'node:util';
import { exitCodeFor, formatReport } from '../support/soak/report.js';
import { runSoak, type SoakOptions } from '../support/soak/run.js';
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

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      operations: { type: 'string' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
      dialects: { type: 'string' },
      'deadline-ms': { type: 'string' },
    },
    strict: true,
  });
  const options: SoakOptions = {
    operations: integer('operations', values.operations),
    concurrency: integer('concurrency', values.concurrency),
    seed: integer('seed', values.seed),
    dialects: dialectList(values.dialects),
    deadlineMs: integer('deadline-ms', values['deadline-ms']),
  };
  const deadlineMs = options.deadlineMs ?? 300_000;

  // runSoak aborts its calls at the deadline; this only stops a run that hangs even so.
  setTimeout(() => {
    console.error(`soak: still running ${deadlineMs + 30_000} ms after start; giving up.`);
    process.exit(1);
  }, deadlineMs + 30_000).unref();

  const report = await runSoak(options);
  console.log(formatReport(report));
  return exitCodeFor(report);
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
