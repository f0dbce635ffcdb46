/**
 * npm run bench [-- --rounds N --ops N --quick]
 *
 * What durable-fetch costs over ky and raw fetch, and over a hand-written durable baseline,
 * against a loopback server in a child process; then the file journal at scale and the browser
 * bundle size. Targets are printed as PASS/MISS, never asserted: exit 0 unless the bench itself fails.
 */
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { arch, cpus, loadavg, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BUNDLE_BUDGET, measureBundles } from '../support/bundle.js';
import { CLIENTS } from './bench/clients.js';
import { bytes, fsyncSection, mark, ms, performanceTargets, summariseDisk, table, throughputSection, type Target } from './bench/report.js';
import { runRounds } from './bench/rounds.js';
import { measureJournal, measurePending } from './bench/scale.js';
import { startLoopbackServer } from './bench/server.js';

const CONCURRENCIES = [1, 32] as const;
const PENDING_TARGET_MS = 1000;
const JOURNAL_BOUND = 4 * 1024 * 1024;

/** Sized for 1–3 minutes on a 2-core shared machine; --quick only proves the script runs. */
const FULL = { rounds: 5, ops: 600, diskSamples: 40, pending: 10_000, settled: 100_000 };
const QUICK = { rounds: 1, ops: 100, diskSamples: 10, pending: 1000, settled: 5000 };

function positiveInteger(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`--${flag} must be a positive integer, got "${text}".`);
  return value;
}

/** Magic numbers from statfs(2): enough to tell a real disk from tmpfs, which makes fsync free. */
const FILE_SYSTEMS: Record<number, string> = {
  0xef53: 'ext2/3/4',
  0x01021994: 'tmpfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
  0x6a656a63: 'virtiofs',
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string' }, ops: { type: 'string' }, quick: { type: 'boolean', default: false } },
    strict: true,
  });
  const sizes = values.quick ? QUICK : FULL;
  const rounds = positiveInteger('rounds', values.rounds) ?? sizes.rounds;
  const ops = positiveInteger('ops', values.ops) ?? sizes.ops;
  const startedAt = Date.now();
  const root = fileURLToPath(new URL('..', import.meta.url));
  const scratch = await mkdtemp(join(tmpdir(), 'durable-fetch-bench-'));
  const fsType = (await statfs(scratch)).type;
  const server = await startLoopbackServer();
  let serverStopped = false;
  const say = (text = '') => console.log(text);
  const progress = (line: string) => console.error(`[bench ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)} s] ${line}`);

  try {
    say(`durable-fetch bench${values.quick ? ' (--quick: a smoke run, numbers are not meaningful)' : ''}`);
    say(`  node ${process.version} ${platform()}/${arch()}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), load average ${load()} at start`);
    say(`  rounds ${rounds}, ${ops} POSTs per client per concurrency per round, concurrency ${CONCURRENCIES.join(' and ')}`);
    say(`  temp dir ${scratch} on ${FILE_SYSTEMS[fsType] ?? `file system 0x${fsType.toString(16)}`}`);
    say(`  server: node:http on ${server.url} in a child process (pid ${server.pid}), keep-alive, answers 201 JSON;`);
    say(`          clients run in this process (pid ${process.pid}), so client cpu µs/op below is the client's alone`);
    say(`  clients: ${CLIENTS.map((c) => c.label).join('; ')}`);
    say(`  each round: fsync samples, then every client at each concurrency, client order rotated per round;`);
    say(`  every measurement gets a fresh client and journal, after untimed warm-up calls; medians across rounds`);
    say();

    const { measurements, disk } = await runRounds({
      baseUrl: server.url,
      scratch,
      rounds,
      ops,
      concurrencies: CONCURRENCIES,
      warmupOps: 32,
      diskSamples: sizes.diskSamples,
      progress,
    });
    const served = await server.stop();
    serverStopped = true;

    say('== Throughput and latency (median of rounds; "vs ky" is the median of per-round ratios) ==');
    say(throughputSection(measurements, CONCURRENCIES, ops));
    say(`  server child: ${served.served} requests, ${(served.cpuMs / 1000).toFixed(1)} s CPU (${((served.cpuMs * 1000) / served.served).toFixed(0)} µs/request)`);
    say();
    say('== fsync ==');
    say(fsyncSection(measurements, CONCURRENCIES, disk));
    say('  (naive: one fsync of its intent file and one of its directory per call, by construction; its put wait is writing that file; it records no outcome)');
    say();

    const targets: Target[] = performanceTargets(measurements, summariseDisk(disk));
    say('== Targets: client cost ==');
    for (const target of targets) say(`  ${mark(target.ok)}  ${target.text}`);
    say();

    say('== Scale: the file journal ==');
    progress(`pending(): filling ${sizes.pending} pending intents`);
    const pending = await measurePending(scratch, sizes.pending);
    const pendingTarget = {
      ok: pending.coldMs < PENDING_TARGET_MS,
      text: `pending() over ${pending.intents} pending intents, newly opened fileStore: ${ms(pending.coldMs)} ms (target < ${PENDING_TARGET_MS} ms)`,
    };
    say(`  filled with store.put in concurrent batches of 1000: ${ms(pending.fillMs)} ms, ${pending.fillSyncs} journal fsyncs, journal ${bytes(pending.journalBytes)}`);
    say(`  ${mark(pendingTarget.ok)}  ${pendingTarget.text}`);
    say(`        pending() again on the same store: ${ms(pending.warmMs)} ms`);

    progress(`journal size: ${sizes.settled} settled operations`);
    const journal = await measureJournal(scratch, sizes.settled);
    const journalTarget = {
      ok: journal.compacted.bytes <= JOURNAL_BOUND,
      text: `journal after ${journal.operations} settled operations, compacted: ${bytes(journal.compacted.bytes)} in ${journal.compacted.files} files (target ≤ ${bytes(JOURNAL_BOUND)})`,
    };
    say(`  ${journal.operations} operations (a pending then a settled put each, retention already over): ${(journal.ms / 1000).toFixed(1)} s, ${compactionsText(journal.compactions)}`);
    say(`  ${mark(journalTarget.ok)}  ${journalTarget.text}`);
    say(`        largest seen while writing: ${bytes(journal.peak.bytes)} in ${journal.peak.files} files; after close(): ${bytes(journal.closed.bytes)} in ${journal.closed.files} files`);
    if (journal.compactionError) say(`        last background compaction error: ${journal.compactionError}`);
    say();

    say('== Browser bundle (esbuild, minified, gzip -9) ==');
    progress('bundling');
    const bundles = await measureBundles(root);
    const bundleTargets = bundles.map((b) => ({
      ok: b.gzipped <= BUNDLE_BUDGET,
      text: `${b.name}: ${b.gzipped} B gzipped (${b.minified} B minified) vs ${BUNDLE_BUDGET} B budget`,
    }));
    const bundleRows = bundles.map((b, i) => [
      b.name,
      String(b.minified),
      String(b.gzipped),
      `${((b.gzipped / BUNDLE_BUDGET) * 100).toFixed(1)}%`,
      mark(bundleTargets[i]!.ok),
    ]);
    say(table(['entry', 'minified B', 'gzip -9 B', `of ${BUNDLE_BUDGET} B (12 KiB)`, ''], bundleRows));
    for (const b of bundles) {
      say(`    ${b.name}: ${b.entry}`);
      say(`      minified bytes by origin: ${b.parts.map(([part, n]) => `${part} ${n}`).join(', ')}`);
    }
    say();

    const every = [...targets, pendingTarget, journalTarget, ...bundleTargets];
    const missed = every.filter((t) => !t.ok).length;
    say(`== Summary: ${every.length - missed} PASS, ${missed} MISS; ran ${((Date.now() - startedAt) / 1000).toFixed(1)} s; load average ${load()} at the end ==`);
  } finally {
    if (!serverStopped) await server.stop().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Other work on a shared machine moves every number here: the reader should know how busy it was. */
const load = () => loadavg().map((n) => n.toFixed(1)).join(' / ');

const compactionsText = (n: number) => `${n} compaction${n === 1 ? '' : 's'} removed files`;

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
