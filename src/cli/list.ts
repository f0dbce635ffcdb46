/**
 * `durable-fetch list`: the journal's intents, oldest first, as a table for people or JSON for
 * scripts. Reads only; the reader is closed whatever happens.
 */
import { secretNames } from '../credentials.js';
import type { Command } from './args.js';
import { describeIntent } from './listing.js';
import { openJournal } from './open-journal.js';
import { formatTable } from './table.js';

export async function list(command: Extract<Command, { name: 'list' }>, out: (text: string) => void): Promise<void> {
  const reader = await openJournal(command.source);
  try {
    const intents = await reader.list(command.states ? { states: command.states } : {});
    const now = Date.now();
    const secretParams = secretNames(command.secretParams);
    const rows = intents.map((intent) => describeIntent(intent, now, secretParams));
    out(command.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
  } finally {
    await reader.close();
  }
}
