/**
 * What the payouts script shows while it runs: on a terminal, one bar redrawn in place; anywhere
 * else (a pipe, a log file, CI), one plain line per event, so nothing is lost to carriage returns.
 */
import type { PayoutRow } from './rows.js';

export interface Tally {
  total: number;
  /** Paid by a request of this run. */
  sent: number;
  /** Answered as a replay: by the API (it had the key) or by the journal (no request at all). */
  replayed: number;
  /** Not paid in this run; a re-run resends those the API may still take. */
  failed: number;
  retries: number;
}

export type RowOutcome =
  | { kind: 'sent'; attempts: number }
  | { kind: 'replayed'; by: 'journal' | 'api' }
  | { kind: 'failed'; reason: string };

export interface Reporter {
  readonly tally: Tally;
  /** A line worth keeping on screen: a recovery, a hint. */
  note(line: string): void;
  row(row: PayoutRow, outcome: RowOutcome): void;
  retry(key: string, retry: number, reason: string, delayMs: number): void;
  finish(summary: string): void;
}

const CLEAR_LINE = '\r\x1b[2K';

export function formatCents(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}

/** One terminal line, never wider than `columns`: a line that wraps can no longer be redrawn with `\r`. */
export function renderBar(tally: Tally, columns: number): string {
  const settled = tally.sent + tally.replayed + tally.failed;
  const counts = ` ${settled}/${tally.total}  sent ${tally.sent} · replayed ${tally.replayed} · failed ${tally.failed} · retries ${tally.retries}`;
  const width = Math.max(10, Math.min(30, columns - counts.length - 3));
  const filled = tally.total === 0 ? width : Math.round((settled / tally.total) * width);
  const line = `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]${counts}`;
  return line.length < columns ? line : `${line.slice(0, Math.max(0, columns - 2))}…`;
}

export function describeRow(row: PayoutRow, outcome: RowOutcome): string {
  const what =
    outcome.kind === 'sent'
      ? `sent${outcome.attempts > 1 ? ` (${outcome.attempts} attempts)` : ''}`
      : outcome.kind === 'replayed'
        ? `replayed (answered by the ${outcome.by === 'journal' ? 'journal, no request sent' : 'API, which had the key'})`
        : `failed: ${outcome.reason}`;
  return `payout ${row.id}  ${row.recipient}  ${formatCents(row.amount)}  ${what}`;
}

function count(tally: Tally, outcome: RowOutcome): void {
  if (outcome.kind === 'sent') tally.sent++;
  else if (outcome.kind === 'replayed') tally.replayed++;
  else tally.failed++;
}

export function createReporter(stream: NodeJS.WriteStream, total: number): Reporter {
  const tally: Tally = { total, sent: 0, replayed: 0, failed: 0, retries: 0 };
  return stream.isTTY ? barReporter(stream, tally) : lineReporter(stream, tally);
}

function barReporter(stream: NodeJS.WriteStream, tally: Tally): Reporter {
  // A pseudo-terminal without a size (script -c, some CI runners) reports 0 columns.
  const draw = () => stream.write(`${CLEAR_LINE}${renderBar(tally, stream.columns || 80)}`);
  const note = (line: string) => {
    stream.write(`${CLEAR_LINE}${line}\n`);
    draw();
  };
  draw();
  return {
    tally,
    note,
    row(row, outcome) {
      count(tally, outcome);
      if (outcome.kind === 'failed') note(describeRow(row, outcome));
      else draw();
    },
    retry() {
      tally.retries++;
      draw();
    },
    finish(summary) {
      draw();
      stream.write(`\n${summary}\n`);
    },
  };
}

function lineReporter(stream: NodeJS.WriteStream, tally: Tally): Reporter {
  const note = (line: string) => stream.write(`${line}\n`);
  return {
    tally,
    note,
    row(row, outcome) {
      count(tally, outcome);
      note(describeRow(row, outcome));
    },
    retry(key, retry, reason, delayMs) {
      tally.retries++;
      note(`  retry ${retry} of ${key} in ${Math.round(delayMs)} ms, after ${reason}`);
    },
    finish: note,
  };
}
