/**
 * `durable-fetch list`: the journal's intents, oldest first, as a table for people or JSON for
 * scripts. Reads only; the reader is closed whatever happens.
 *
 * A damaged record (times out of range or no numbers, no intent's shape: store.ts's reading rule)
 * is not shown, and ends no listing: the good rows are listed, then how many were left out and
 * why — after the table, or on stderr beside JSON, whose array stays the good rows — and the exit
 * code is 0, as for any listing.
 */
import { secretNames } from '../credentials.js';
import { type DamagedRecord, describeDamaged } from '../stores/store.js';
import type { Command } from './args.js';
import { describeIntent } from './listing.js';
import { openJournal } from './open-journal.js';
import { formatTable } from './table.js';

export async function list(command: Extract<Command, { name: 'list' }>, out: (text: string) => void, err: (text: string) => void = () => {}): Promise<void> {
  const reader = await openJournal(command.source);
  try {
    const damaged: DamagedRecord[] = [];
    const onDamaged = (record: DamagedRecord) => void damaged.push(record);
    const intents = await reader.list(command.states ? { states: command.states, onDamaged } : { onDamaged });
    const now = Date.now();
    const secretParams = secretNames(command.secretParams);
    const rows = intents.map((intent) => describeIntent(intent, now, secretParams));
    const skipped = damaged.length === 0 ? undefined : describeSkipped(damaged);
    if (command.json) {
      out(JSON.stringify(rows, null, 2));
      if (skipped !== undefined) err(skipped);
    } else out(skipped === undefined ? formatTable(rows) : `${formatTable(rows)}\n\n${skipped}`);
  } finally {
    await reader.close();
  }
}

/**
 * How many damaged records were left out, and each one's place (scope and id: method, origin, path
 * and key, as the id holds them, never a query) and reason, which quotes none of its values.
 */
function describeSkipped(damaged: DamagedRecord[]): string {
  const lines = damaged.map((record) => `  ${describeDamaged(record)}: ${record.reason}`);
  const count = damaged.length === 1 ? '1 damaged record' : `${damaged.length} damaged records`;
  return [`Skipped ${count}, not shown above: unreadable as intents (repair or delete by hand; their outcomes are unknown).`, ...lines].join('\n');
}
