/**
 * `durable-fetch list`: the journal's intents, oldest first, as a table for people or JSON for
 * scripts. Reads only; the reader is closed whatever happens.
 *
 * Each intent is checked as a client checks one before sending it again (`damageOf`, integrity.ts:
 * the same function, so the CLI marks exactly what recovery would skip), which needs its body:
 * the reader reads each whole intent, one at a time, read-only like the listing.
 *
 * A record the store cannot read as an intent at all (times out of range or no numbers, no
 * intent's shape: record-shape.ts's reading rule) is not shown, and ends no listing: the good rows
 * are listed, then how many were left out and why — after the table, or on stderr beside JSON,
 * whose array stays the good rows — and the exit code is 0, as for any listing.
 */
import { secretNames } from '../credentials.js';
import { webCryptoSha256 } from '../fingerprint.js';
import { damageOf, summaryDamageOf } from '../integrity.js';
import { type DamagedRecord, DamagedRecordError, describeDamaged, type IntentSummary } from '../stores/store.js';
import type { Command } from './args.js';
import type { JournalReader } from './journal-reader.js';
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
    const damage = await damageIn(reader, intents);
    const rows = intents.map((intent, i) => describeIntent(intent, now, secretParams, damage[i]));
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

/** Why each intent is damaged, in order; undefined for a whole one. One gone since the listing is judged by its summary. */
async function damageIn(reader: JournalReader, intents: IntentSummary[]): Promise<Array<string | undefined>> {
  const reasons: Array<string | undefined> = [];
  for await (const whole of reader.wholes(intents)) {
    const summary = intents[reasons.length]!;
    if (whole instanceof DamagedRecordError) reasons.push(whole.record.reason);
    else reasons.push(whole === undefined ? summaryDamageOf(summary) : await damageOf(whole, { config: { sha256: webCryptoSha256 } }));
  }
  return reasons;
}
