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
  file: number;
  dir: number;
  all: number;
  recordsPerFileSync: number;
  getMs: number;
  putMs: number;
}

function journalRates(all: readonly Measurement[], client: ClientName, concurrency: number): JournalRates {
  const runs = runsOf(all, client, concurrency).flatMap((m) => (m.journal ? [{ ops: m.ops, ...m.journal }] : []));
  const per = (metric: (m: (typeof runs)[number]) => number) => median(runs.map(metric));
  return {
    file: per((m) => m.file / m.ops),
    dir: per((m) => m.dir / m.ops),
    all: per((m) => m.all / m.ops),
    recordsPerFileSync: per((m) => m.records / Math.max(1, m.file)),
    getMs: per((m) => m.getMs / m.ops),
    putMs: per((m) => m.putMs / m.ops),
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

export function fsyncSection(all: readonly Measurement[], concurrencies: readonly number[], disk: DiskSamples): string {
  const sorted = (values: number[]) => Float64Array.from(values).sort();
  const row = (label: string, values: number[]) => [label, ms(median(values)), ms(percentile(sorted(values), 99)), String(values.length)];
  const out = [
    'fsync microbenchmark (same temp file system, sampled at the start of every round)',
    table(
      ['operation', 'median ms', 'p99 ms', 'samples'],
      [
        row('append 512 B + fdatasync (fileStore journal)', disk.datasync),
        row('append 512 B + fsync (naive intent file)', disk.fsync),
        row('open dir + fsync + close (new file names)', disk.dirSync),
      ],
    ),
    '',
    'per operation, median of rounds (fileStore counts from its stats(); "wait" is time a call spent in the store\'s get / put)',
  ];
  const rows: string[][] = [];
  for (const concurrency of concurrencies) {
    for (const client of ['fileStore', 'naive'] as const) {
      const rates = journalRates(all, client, concurrency);
      rows.push([
        `${client} @ ${concurrency}`,
        rates.file.toFixed(3),
        rates.dir.toFixed(3),
        rates.all.toFixed(3),
        rates.recordsPerFileSync.toFixed(1),
        client === 'naive' ? '–' : ms(rates.getMs),
        ms(rates.putMs),
      ]);
    }
  }
  out.push(
    table(['client @ concurrency', 'file fsyncs', 'dir fsyncs', 'all fsyncs (+compaction)', 'records per file fsync', 'get wait ms', 'put wait ms'], rows),
  );
  return out.join('\n');
}

export function performanceTargets(all: readonly Measurement[], disk: DiskSummary): Target[] {
  const targets: Target[] = [];
  const atLeast = (value: number, floor: number, text: string) => targets.push({ ok: value >= floor, text: `${text}: ${ratio(value)} (target ≥ ${floor}×)` });

  atLeast(throughputRatio(all, 'memoryStore', 'ky', 1), 0.95, 'memoryStore vs ky throughput, concurrency 1');
  atLeast(throughputRatio(all, 'memoryStore', 'ky', 32), 0.95, 'memoryStore vs ky throughput, concurrency 32');
  atLeast(throughputRatio(all, 'fileStore', 'ky', 32), 0.8, 'fileStore vs ky throughput, concurrency 32');
  atLeast(throughputRatio(all, 'fileStore', 'naive', 32), 5, 'fileStore vs naive baseline throughput, concurrency 32');
  // No client can beat the naive baseline by more than raw fetch does: that is the ceiling this machine allows.
  targets[targets.length - 1]!.text += `; raw fetch vs naive: ${ratio(throughputRatio(all, 'fetch', 'naive', 32))}`;

  // What durability should cost one call at a time: the fsyncs it needs, and nothing else.
  const added = paired(all, 'fileStore', 'memoryStore', 1, (x, y) => x.p50Ms - y.p50Ms);
  const rates = journalRates(all, 'fileStore', 1);
  const expected = rates.file * disk.datasync + rates.dir * disk.dirSync;
  const share = added / expected;
  targets.push({
    ok: share >= 0.5 && share <= 1.5,
    text:
      `fileStore added p50 latency over memoryStore, concurrency 1: ${ms(added)} ms vs fsyncs needed ` +
      `${rates.file.toFixed(2)} × ${ms(disk.datasync)} ms + ${rates.dir.toFixed(2)} × ${ms(disk.dirSync)} ms = ${ms(expected)} ms ` +
      `(ratio ${share.toFixed(2)}, target ≈ 1, within 0.5–1.5); mean wait in the store per call: get ${ms(rates.getMs)} ms + puts ${ms(rates.putMs)} ms`,
  });
  return targets;
}
