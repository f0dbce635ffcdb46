import { formatDuration, type ListedIntent } from './listing.js';

const HEADER = ['STATE', 'AGE', 'METHOD', 'URL', 'ATTEMPTS', 'LEASE', 'KEY TTL', 'SCOPE', 'KEY'];

function cells(row: ListedIntent): string[] {
  return [
    row.damaged === null ? row.state : `${row.state} (damaged)`,
    formatDuration(row.ageMs),
    row.method,
    row.url,
    String(row.attempts),
    // Rounded up: a lease with 300 ms left is still held, and "held 0s" would read as free.
    row.leaseHeld ? `held ${roundedUp(row.leaseRemainingMs)}` : row.parkedForMs > 0 ? `parked ${roundedUp(row.parkedForMs)}` : 'free',
    row.keyExpired ? 'outlived' : 'live',
    row.scope,
    row.idempotencyKey,
  ];
}

const roundedUp = (ms: number) => formatDuration(Math.ceil(ms / 1000) * 1000);

/** Aligned columns, oldest first as given, and a count of what still needs attention. */
export function formatTable(rows: ListedIntent[]): string {
  if (rows.length === 0) return 'No intents in this journal.';
  const lines = rows.map(cells);
  const widths = HEADER.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]?.length ?? 0)));
  const render = (line: string[]) => line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  const pending = rows.filter((row) => row.state === 'pending').length;
  const expired = rows.filter((row) => row.state === 'expired').length;
  const damaged = rows.filter((row) => row.damaged !== null);
  const count = `${rows.length} intent(s), ${pending} pending, ${expired} expired${damaged.length > 0 ? `, ${damaged.length} damaged` : ''}.`;
  const notes = damaged.length === 0 ? [] : [
    '',
    'Damaged in the journal: nothing of these is sent again. Check with the API whether each ran, then settle it',
    'with resolve(), or restore the journal from a backup.',
    ...damaged.map((row) => `  ${row.scope} ${row.idempotencyKey}: ${row.damaged}`),
  ];
  return [render(HEADER), ...lines.map(render), '', count, ...notes].join('\n');
}
