/**
 * `durable-fetch list [dir]`: what a file journal holds, read-only. Reads the journal files
 * directly and writes nothing, so it is safe beside a running process.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { JournalView } from '../stores/file/view.js';
import type { Intent } from '../stores/store.js';

const USAGE = `Usage: durable-fetch list [dir] [--json] [--state pending|succeeded|failed|expired]

Lists the intents of a durable-fetch file journal (default dir: .idempotency): state, age,
method, URL, attempts, and whether the key has outlived its TTL (the server may have forgotten it).
  --json    one JSON array, for scripts
  --state   only intents in this state`;

export interface ListedIntent {
  idempotencyKey: string;
  scope: string;
  state: Intent['state'];
  method: string;
  url: string;
  createdAt: string;
  ageMs: number;
  attempts: number;
  /** The key's TTL (createdAt + keyTtlMs) has passed: the server may no longer know it. */
  keyExpired: boolean;
}

class CliError extends Error {}

async function readJournal(dir: string): Promise<Intent[]> {
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      error.code === 'ENOENT' ? `no journal at ${dir}: the directory does not exist` : `cannot read ${dir}: ${error.message}`,
    );
  });
  if (!info.isDirectory()) throw new CliError(`${dir} is not a directory`);
  const view = new JournalView(dir);
  try {
    await view.refresh();
  } catch (error) {
    throw new CliError(`cannot read the journal in ${dir}: ${(error as Error).message}`);
  }
  return view.index.list();
}

export function describeIntent(intent: Intent, now: number): ListedIntent {
  return {
    idempotencyKey: intent.idempotencyKey,
    scope: intent.scope,
    state: intent.state,
    method: intent.method,
    url: intent.url,
    createdAt: new Date(intent.createdAt).toISOString(),
    ageMs: Math.max(0, now - intent.createdAt),
    attempts: intent.attempts,
    keyExpired: now >= intent.expiresAt,
  };
}

export function formatAge(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(seconds / 86_400)}d${Math.floor((seconds % 86_400) / 3600)}h`;
}

export function formatTable(rows: ListedIntent[]): string {
  if (rows.length === 0) return 'No intents in this journal.';
  const header = ['STATE', 'AGE', 'METHOD', 'URL', 'ATTEMPTS', 'KEY TTL', 'KEY'];
  const lines = rows.map((row) => [
    row.state,
    formatAge(row.ageMs),
    row.method,
    row.url,
    String(row.attempts),
    row.keyExpired ? 'outlived' : 'live',
    row.idempotencyKey,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]?.length ?? 0)));
  const render = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  const pending = rows.filter((row) => row.state === 'pending').length;
  return [render(header), ...lines.map(render), '', `${rows.length} intent(s), ${pending} pending.`].join('\n');
}

export async function main(argv: string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, state: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    err(`durable-fetch: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, dirArgument, ...extra] = parsed.positionals;
  if (parsed.values.help) {
    out(USAGE);
    return 0;
  }
  if (command !== 'list' || extra.length > 0) {
    err(`durable-fetch: ${command === undefined ? 'a command is needed' : `unknown command or arguments: ${parsed.positionals.join(' ')}`}\n\n${USAGE}`);
    return 2;
  }
  const states = ['pending', 'succeeded', 'failed', 'expired'];
  if (parsed.values.state !== undefined && !states.includes(parsed.values.state)) {
    err(`durable-fetch: --state must be one of ${states.join(', ')}`);
    return 2;
  }
  const dir = resolve(dirArgument ?? '.idempotency');
  try {
    const now = Date.now();
    const rows = (await readJournal(dir))
      .filter((intent) => parsed.values.state === undefined || intent.state === parsed.values.state)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((intent) => describeIntent(intent, now));
    out(parsed.values.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
    return 0;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    err(`durable-fetch: ${error.message}`);
    return 1;
  }
}
