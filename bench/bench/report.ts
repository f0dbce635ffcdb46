/** Turns measurements into the printed report: medians across rounds, ratios, and the targets. */
import { CLIENTS, type ClientName } from './clients.js';
import type { DiskSamples } from './disk.js';
import type { LoadResult } from './load.js';
import type { Measurement } from './rounds.js';
import { median, percentile } from './stats.js';

export interface Target {
  ok: boolean;
  text: string;
}

export const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS');

export const ms = (value: number) => (value < 1 ? value.toFixed(3) : value < 10 ? value.toFixed(2) : value.toFixed(1));
export const ratio = (value: number) => `${value.toFixed(2)}×`;

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${n} B (${(n / 1024).toFixed(1)} KiB)`;
  return `${n} B (${(n / 1024 / 1024).toFixed(2)} MiB)`;
}

/** First column left-aligned, the rest right-aligned: numbers line up. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, col) => Math.max(title.length, ...rows.map((row) => row[col]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].map((text) => `  ${text}`).join('\n');
}

/** Measurements of one client at one concurrency, by round. */
const runsOf = (all: readonly Measurement[], client: ClientName, concurrency: number) =>
  all.filter((m) => m.client === client && m.concurrency === concurrency && m.round >= 0).sort((a, b) => a.round - b.round);

const medianOf = (all: readonly Measurement[], client: ClientName, concurrency: number, metric: (m: Measurement) => number) =>
  median(runsOf(all, client, concurrency).map(metric));

/**
 * Median over rounds of a comparison between two clients measured in the same round: pairing
 * cancels most of the drift a shared machine shows between rounds.
 */
function paired(all: readonly Measurement[], a: ClientName, b: ClientName, concurrency: number, compare: (x: LoadResult, y: LoadResult) => number) {
  const bs = runsOf(all, b, concurrency);
  return median(runsOf(all, a, concurrency).flatMap((x) => {
    const y = bs.find((m) => m.round === x.round);
    return y ? [compare(x, y)] : [];
  }));
}

const throughputRatio = (all: readonly Measurement[], a: ClientName, b: ClientName, concurrency: number) =>
  paired(all, a, b, concurrency, (x, y) => x.opsPerSec / y.opsPerSec);

export function throughputSection(all: readonly Measurement[], concurrencies: readonly number[], ops: number): string {
  const out: string[] = [];
  for (const concurrency of concurrencies) {
    out.push(`concurrency ${concurrency} (${ops} POSTs per measurement)`);
    const rows = CLIENTS.map(({ name, label }) => [
      label,
      medianOf(all, name, concurrency, (m) => m.opsPerSec).toFixed(0),
      ms(medianOf(all, name, concurrency, (m) => m.p50Ms)),
      ms(medianOf(all, name, concurrency, (m) => m.p99Ms)),
      medianOf(all, name, concurrency, (m) => m.cpuUsPerOp).toFixed(0),
      ratio(throughputRatio(all, name, 'ky', concurrency)),
    ]);
    out.push(table(['client', 'ops/s', 'p50 ms', 'p99 ms', 'client cpu µs/op', 'ops/s vs ky'], rows), '');
  }
  return out.join('\n');
}

/** Per operation, median of rounds. */
interface JournalRates {
  commits: number;
  writes: number;
  writesPerCommit: number;
  createMs: number;
  updateMs: number;
}

function journalRates(all: readonly Measurement[], client: ClientName, concurrency: number): JournalRates {
  const runs = runsOf(all, client, concurrency).flatMap((m) => (m.journal ? [{ ops: m.ops, ...m.journal }] : []));
  const per = (metric: (m: (typeof runs)[number]) => number) => median(runs.map(metric));
  return {
    commits: per((m) => m.commits / m.ops),
    writes: per((m) => m.writes / m.ops),
    writesPerCommit: per((m) => m.writes / Math.max(1, m.commits)),
    createMs: per((m) => m.createMs / m.ops),
    updateMs: per((m) => m.updateMs / m.ops),
  };
}

export interface DiskSummary {
  datasync: number;
  fsync: number;
  dirSync: number;
}

export function summariseDisk(disk: DiskSamples): DiskSummary {
  return { datasync: median(disk.datasync), fsync: median(disk.fsync), dirSync: median(disk.dirSync) };
}

export function journalSection(all: readonly Measurement[], concurrencies: readonly number[], disk: DiskSamples): string {
  const sorted = (values: number[]) => Float64Array.from(values).sort();
  const row = (label: string, values: number[]) => [label, ms(median(values)), ms(percentile(sorted(values), 99)), String(values.length)];
  const out = [
    'fsync microbenchmark (same temp file system, sampled at the start of every round)',
    table(
      ['operation', 'median ms', 'p99 ms', 'samples'],
      [
        row('append 512 B + fdatasync (what a WAL commit does)', disk.datasync),
        row('append 512 B + fsync (naive intent file)', disk.fsync),
        row('open dir + fsync + close (naive: new file name)', disk.dirSync),
      ],
    ),
    '',
    'per call, median of rounds (sqliteStore: commits and writes from store.stats(); naive: its fsyncs and intent files;',
    '"create wait" is time a call spent in store.create before sending, "update wait" time in outcome writes after it)',
  ];
  const rows: string[][] = [];
  for (const concurrency of concurrencies) {
    for (const client of ['sqliteStore', 'naive'] as const) {
      const rates = journalRates(all, client, concurrency);
      rows.push([
        `${client} @ ${concurrency}`,
        rates.commits.toFixed(3),
        rates.writes.toFixed(2),
        rates.writesPerCommit.toFixed(1),
        ms(rates.createMs),
        client === 'naive' ? '–' : ms(rates.updateMs),
      ]);
    }
  }
  out.push(table(['client @ concurrency', 'commits/fsyncs', 'writes', 'writes per commit', 'create wait ms', 'update wait ms'], rows));
  return out.join('\n');
}

/** Event-loop delay while each client ran, median of rounds. */
export function loopDelaySection(all: readonly Measurement[], concurrencies: readonly number[]): string {
  const rows = concurrencies.flatMap((concurrency) =>
    CLIENTS.map(({ name }) => [
      `${name} @ ${concurrency}`,
      ms(medianOf(all, name, concurrency, (m) => m.loopDelay.p50Ms)),
      ms(medianOf(all, name, concurrency, (m) => m.loopDelay.p99Ms)),
      ms(medianOf(all, name, concurrency, (m) => m.loopDelay.maxMs)),
    ]),
  );
  return [
    'monitorEventLoopDelay, sampled every 1 ms during each timed run; the 1 ms interval is taken off (0 = on time)',
    table(['client @ concurrency', 'p50 ms', 'p99 ms', 'max ms'], rows),
  ].join('\n');
}

export const LOOP_DELAY_TARGET_MS = 5;

export function performanceTargets(all: readonly Measurement[], disk: DiskSummary): Target[] {
  const targets: Target[] = [];
  const atLeast = (value: number, floor: number, text: string) => targets.push({ ok: value >= floor, text: `${text}: ${ratio(value)} (target ≥ ${floor}×)` });

  atLeast(throughputRatio(all, 'memoryStore', 'ky', 1), 0.95, 'memoryStore vs ky throughput, concurrency 1');
  atLeast(throughputRatio(all, 'memoryStore', 'ky', 32), 0.95, 'memoryStore vs ky throughput, concurrency 32');
  atLeast(throughputRatio(all, 'sqliteStore', 'ky', 32), 0.8, 'sqliteStore vs ky throughput, concurrency 32');

  // What durability should cost one call at a time: one commit before sending, and nothing else.
  const added = paired(all, 'sqliteStore', 'memoryStore', 1, (x, y) => x.p50Ms - y.p50Ms);
  const share = added / disk.fsync;
  const rates = journalRates(all, 'sqliteStore', 1);
  targets.push({
    ok: share >= 0.5 && share <= 1.5,
    text:
      `sqliteStore added p50 latency over memoryStore, concurrency 1: ${ms(added)} ms vs one fsync ${ms(disk.fsync)} ms ` +
      `(ratio ${share.toFixed(2)}, target ≈ 1, within 0.5–1.5; one fdatasync ${ms(disk.datasync)} ms); ` +
      `mean create wait per call ${ms(rates.createMs)} ms`,
  });

  const delay = medianOf(all, 'sqliteStore', 32, (m) => m.loopDelay.p99Ms);
  targets.push({
    ok: delay < LOOP_DELAY_TARGET_MS,
    text: `event-loop delay p99 during sqliteStore at concurrency 32: ${ms(delay)} ms (p50 ${ms(medianOf(all, 'sqliteStore', 32, (m) => m.loopDelay.p50Ms))} ms; target p99 < ${LOOP_DELAY_TARGET_MS} ms)`,
  });
  return targets;
}
