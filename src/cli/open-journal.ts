/**
 * One reader per kind of journal. Readers for the fleet stores plug in here when those stores
 * ship; until then their options fail clearly instead of being unknown.
 */
import { CliError } from './errors.js';
import type { JournalReader, JournalSource } from './journal-reader.js';
import { openSqliteJournal } from './sqlite-reader.js';

type Openers = { [K in JournalSource['kind']]: (source: Extract<JournalSource, { kind: K }>) => Promise<JournalReader> };

const OPENERS: Openers = {
  sqlite: (source) => openSqliteJournal(source.path),
  postgres: () => notInThisBuild('--postgres', 'PostgreSQL'),
  redis: () => notInThisBuild('--redis', 'Redis'),
};

export function openJournal(source: JournalSource): Promise<JournalReader> {
  return (OPENERS[source.kind] as (source: JournalSource) => Promise<JournalReader>)(source);
}

function notInThisBuild(option: string, store: string): Promise<never> {
  return Promise.reject(
    new CliError(`${option} is not available in this build: the ${store} reader comes with the fleet stores`, 2),
  );
}
