/**
 * `durable-fetch list`: the journal's intents, oldest first, as a table for people or JSON for
 * scripts. Reads only; the reader is closed whatever happens.
 *
 * Each intent is checked as a client checks one before sending it again (`damageOf`, integrity.ts:
 * the same function, so the CLI marks exactly what recovery would skip), which needs its body:
 * the reader reads each whole intent, one at a time, read-only like the listing.
 */
import { secretNames } from '../credentials.js';
import { webCryptoSha256 } from '../fingerprint.js';
import { damageOf, summaryDamageOf } from '../integrity.js';
import type { IntentSummary } from '../stores/store.js';
import type { Command } from './args.js';
import type { JournalReader } from './journal-reader.js';
import { describeIntent } from './listing.js';
import { openJournal } from './open-journal.js';
import { formatTable } from './table.js';

export async function list(command: Extract<Command, { name: 'list' }>, out: (text: string) => void): Promise<void> {
  const reader = await openJournal(command.source);
  try {
    const intents = await reader.list(command.states ? { states: command.states } : {});
    const now = Date.now();
    const secretParams = secretNames(command.secretParams);
    const damage = await damageIn(reader, intents);
    const rows = intents.map((intent, i) => describeIntent(intent, now, secretParams, damage[i]));
    out(command.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
  } finally {
    await reader.close();
  }
}

/** Why each intent is damaged, in order; undefined for a whole one. One gone since the listing is judged by its summary. */
async function damageIn(reader: JournalReader, intents: IntentSummary[]): Promise<Array<string | undefined>> {
  const reasons: Array<string | undefined> = [];
  for await (const whole of reader.wholes(intents)) {
    const summary = intents[reasons.length]!;
    reasons.push(whole === undefined ? summaryDamageOf(summary) : await damageOf(whole, { sha256: webCryptoSha256 }));
  }
  return reasons;
}
