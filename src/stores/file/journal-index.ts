/** The merged view of every record read so far: the latest record of each intent. */
import { type Intent, intentId, isCompactable } from '../store.js';
import { isNewer, type RecordMeta } from './format.js';

export interface IndexedRecord extends RecordMeta {
  /** The intent as text: compact in memory, and parsing it makes the copy a caller gets. */
  intentJson: string;
}

interface Entry extends IndexedRecord {
  /**
   * Every file known to hold the winning record. Compaction copies records, so one record may sit
   * in an input and in the output at once; the entry must outlive the input's removal.
   */
  files: string[];
}

/** Where an intent lives in the journal: one slot per scope and intentId. */
export const slotKey = (scope: string, id: string) => `${scope}\n${id}`;
export const slotOf = (intent: Intent) => slotKey(intent.scope, intentId(intent));

/** isCompactable on what a record's metadata keeps (it reads only state and expiresAt). */
export const compactable = (record: Pick<RecordMeta, 'state' | 'expiresAt'>, now: number) =>
  isCompactable({ state: record.state, expiresAt: record.expiresAt } as Intent, now);

function intentOf(entry: Entry): Intent | undefined {
  try {
    return JSON.parse(entry.intentJson) as Intent;
  } catch {
    return undefined; // cannot happen past the CRC; never worth failing a whole list for
  }
}

export class JournalIndex {
  private readonly entries = new Map<string, Entry>();

  /** Keeps the record if it is later than what the slot holds; a copy of the same record only adds its file. */
  apply(record: IndexedRecord, file: string): void {
    const slot = slotKey(record.scope, record.id);
    const current = this.entries.get(slot);
    if (current === undefined || isNewer(record, current)) {
      const { v, w, q, scope, id, state, expiresAt, intentJson } = record;
      this.entries.set(slot, { v, w, q, scope, id, state, expiresAt, intentJson, files: [file] });
    } else if (!isNewer(current, record) && !current.files.includes(file)) {
      current.files.push(file);
    }
  }

  /** Forgets that `files` hold anything; an intent whose latest record was only there is dropped. */
  forget(files: ReadonlySet<string>): void {
    for (const [slot, entry] of this.entries) {
      if (!entry.files.some((file) => files.has(file))) continue;
      entry.files = entry.files.filter((file) => !files.has(file));
      if (entry.files.length === 0) this.entries.delete(slot);
    }
  }

  stamp(slot: string): RecordMeta | undefined {
    return this.entries.get(slot);
  }

  get(scope: string, id: string): Intent | undefined {
    const entry = this.entries.get(slotKey(scope, id));
    return entry && intentOf(entry);
  }

  list(scope?: string): Intent[] {
    const out: Intent[] = [];
    for (const entry of this.entries.values()) {
      if (scope !== undefined && entry.scope !== scope) continue;
      const intent = intentOf(entry);
      if (intent) out.push(intent);
    }
    return out;
  }

  /** Bytes of the records in `files` that a compaction would keep: the cost of compacting them. */
  liveBytes(files: ReadonlySet<string>, now: number): number {
    let bytes = 0;
    for (const entry of this.entries.values()) {
      if (!compactable(entry, now) && entry.files.some((file) => files.has(file))) bytes += entry.intentJson.length + 160;
    }
    return bytes;
  }

  get size(): number {
    return this.entries.size;
  }
}
