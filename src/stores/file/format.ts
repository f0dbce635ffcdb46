/**
 * On-disk format of the file journal.
 *
 * A journal directory holds segment files (see names.ts). Each is a sequence of frames:
 *
 *     <crc32 of JSON: 8 hex digits> <byte length of JSON: 8 hex digits> <JSON>\n
 *
 * JSON is one record, either
 *
 *     {"v":<version>,"w":"<writer id>","q":<sequence>,"c":"<scope>","k":"<intentId>",
 *      "s":"<state>","x":<expiresAt>,"i":<Intent>}      an intent, stored whole in "i"
 *     {"seal":"<writer id>"}                          its writer appends no more to this file
 *
 * The fields before "i" repeat what the journal needs to place and retain an intent, so reading
 * a file parses only them; the intent itself is parsed when someone asks for it.
 *
 * The latest record of an intent (same scope and intentId) wins, by (v, w, q) compared in that
 * order: v is a Lamport-style version (the intent's updatedAt, raised above every version its
 * writer had seen for that intent, so a put that knew of another always wins over it), w breaks
 * ties between writers the same way everywhere, and q orders one writer's own puts.
 *
 * Why this framing survives crashes and bit rot:
 * - The CRC rejects a frame whose bytes changed, or that holds a half-written mix; a damaged frame
 *   is skipped, never fatal.
 * - The length says where the JSON ends, so a frame whose terminator alone was damaged still reads.
 * - JSON never contains a raw newline, so a frame whose length runs past the next newline has a
 *   damaged length, while one that runs past the end of the file with no newline after its start
 *   is a frame still being written (or a torn tail): it is waited for, not skipped.
 * - After damage the reader looks for the next intact frame at every offset, not just after the
 *   next newline, so damage never takes an intact neighbour with it (see nextIntact).
 * - The newline keeps the files readable with grep and a text editor.
 */
import { crc32 } from 'node:zlib';
import type { Intent, IntentState } from '../store.js';

const HEADER_BYTES = 18; // 8 hex + space + 8 hex + space
const NEWLINE = 0x0a;
const SPACE = 0x20;
const MAX_JSON_BYTES = 0xffffffff;

export interface Stamp {
  v: number;
  w: string;
  q: number;
}

/** What the journal needs to know of an intent record without parsing the intent. */
export interface RecordMeta extends Stamp {
  scope: string;
  /** intentId(intent) when it was written. */
  id: string;
  state: IntentState;
  expiresAt: number;
}

export interface IntentRecord extends RecordMeta {
  kind: 'intent';
  /** The intent, serialised. */
  intentJson: string;
  /** The whole record, as framed. */
  json: string;
}

export type JournalRecord = IntentRecord | { kind: 'seal'; w: string };

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

/**
 * Frames of `jsons`, back to back in one buffer. Each JSON is encoded once, straight into place,
 * and its CRC taken over those bytes: a put's record is large next to the rest of its work.
 */
export function frames(jsons: readonly string[]): Buffer {
  const lengths = jsons.map((json) => Buffer.byteLength(json, 'utf8'));
  let total = 0;
  for (const length of lengths) {
    if (length > MAX_JSON_BYTES) throw new RangeError(`a journal record of ${length} bytes is too large`);
    total += HEADER_BYTES + length + 1;
  }
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < jsons.length; i++) {
    const length = lengths[i]!;
    const body = at + HEADER_BYTES;
    buf.write(jsons[i]!, body, length, 'utf8');
    buf.write(`${hex8(crc32(buf.subarray(body, body + length)))} ${hex8(length)} `, at, HEADER_BYTES, 'latin1');
    buf[body + length] = NEWLINE;
    at = body + length + 1;
  }
  return buf;
}

/** One frame: header, JSON, newline. */
export const frame = (json: string): Buffer => frames([json]);

/** The JSON of an intent record; `intentJson` is already serialised, and goes last. */
export function intentRecordJson(meta: RecordMeta, intentJson: string): string {
  const { v, w, q, scope, id, state, expiresAt } = meta;
  const text = JSON.stringify;
  return `{"v":${v},"w":${text(w)},"q":${q},"c":${text(scope)},"k":${text(id)},"s":${text(state)},"x":${expiresAt},"i":${intentJson}}`;
}

export function sealRecordJson(writer: string): string {
  return JSON.stringify({ seal: writer });
}

/** True when `a` is a later record of the same intent than `b`. */
export function isNewer(a: Stamp, b: Stamp): boolean {
  if (a.v !== b.v) return a.v > b.v;
  if (a.w !== b.w) return a.w > b.w;
  return a.q > b.q;
}

function parseHex8(buf: Buffer, at: number): number {
  let n = 0;
  for (let i = at; i < at + 8; i++) {
    const c = buf[i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return -1;
    n = n * 16 + d;
  }
  return n;
}

const SHORT = -1;
const DAMAGED = -2;

/** Where the intact frame at `pos` ends (its terminator's offset), or SHORT / DAMAGED. */
function frameEnd(buf: Buffer, pos: number): number {
  const headerEnd = pos + HEADER_BYTES;
  if (headerEnd > buf.length) return SHORT;
  if (buf[pos + 8] !== SPACE || buf[pos + 17] !== SPACE) return DAMAGED;
  const crc = parseHex8(buf, pos);
  const length = parseHex8(buf, pos + 9);
  if (crc < 0 || length < 0) return DAMAGED;
  const end = headerEnd + length;
  if (end >= buf.length) return SHORT;
  return crc32(buf.subarray(headerEnd, end)) === crc ? end : DAMAGED;
}

/**
 * The start of the next intact frame after damage at `from`, or -1. Every offset is tried, not
 * only those after a newline, because damage may have eaten the newline before the next frame.
 * A false start would need the header shape (which JSON only shows inside a string), a CRC match
 * over the bytes it claims, and a record that parses: not something damage produces by chance.
 */
function nextIntact(buf: Buffer, from: number): number {
  for (let q = from; q + HEADER_BYTES < buf.length; q++) {
    if (buf[q + 8] === SPACE && buf[q + 17] === SPACE && frameEnd(buf, q) >= 0) return q;
  }
  return -1;
}

/**
 * Calls `onJson` with the JSON of every intact frame in `buf`, in order, and skips damaged bytes
 * (however many frames they span, they cost only the frames they overlap). Returns how many bytes
 * are settled: the caller reads again from there when the file grows. A frame still being written
 * at the end (or a torn tail) is not settled. When `mayGrow`, damage at the very end is not settled
 * either, so a reader never skips bytes that another process was still in the middle of writing.
 */
export function scanFrames(buf: Buffer, onJson: (json: string) => void, mayGrow: boolean): number {
  let pos = 0;
  while (pos < buf.length) {
    const end = frameEnd(buf, pos);
    if (end >= 0) {
      onJson(buf.toString('utf8', pos + HEADER_BYTES, end));
      pos = end + 1; // past the terminator, even a damaged one: the length said where it is
      continue;
    }
    // A frame cut short has no newline after its start: a newline means its length was damaged.
    if (end === SHORT && buf.indexOf(NEWLINE, pos) < 0) return pos;
    const next = nextIntact(buf, pos + 1);
    if (next < 0) return mayGrow ? pos : buf.length;
    pos = next;
  }
  return pos;
}

const STATES = new Set(['pending', 'succeeded', 'failed', 'expired']);

const isFiniteNumber = (value: unknown) => typeof value === 'number' && Number.isFinite(value);

/**
 * The fields the journal relies on. Checked when writing too: a record that would not read back
 * (NaN becomes null in JSON) must fail its put, not vanish on the next open.
 */
export function isIntent(value: unknown): value is Intent {
  if (typeof value !== 'object' || value === null) return false;
  const i = value as Record<string, unknown>;
  return (
    typeof i.scope === 'string' &&
    typeof i.idempotencyKey === 'string' &&
    typeof i.method === 'string' &&
    typeof i.url === 'string' &&
    typeof i.fingerprint === 'string' &&
    isFiniteNumber(i.createdAt) &&
    isFiniteNumber(i.updatedAt) &&
    isFiniteNumber(i.expiresAt) &&
    isFiniteNumber(i.attempts) &&
    typeof i.state === 'string' &&
    STATES.has(i.state)
  );
}

const INTENT_FIELD = ',"i":';

/** The record in a frame's JSON, or undefined for anything this version does not understand. */
export function decodeRecord(json: string): JournalRecord | undefined {
  // "i" comes last, and a JSON string never holds an unescaped quote, so the first ',"i":' is that
  // field: only the small metadata before it is parsed here.
  const at = json.indexOf(INTENT_FIELD);
  let value: unknown;
  try {
    value = JSON.parse(at < 0 ? json : `${json.slice(0, at)}}`);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (at < 0) return typeof r.seal === 'string' ? { kind: 'seal', w: r.seal } : undefined;
  if (
    !isFiniteNumber(r.v) ||
    typeof r.w !== 'string' ||
    !isFiniteNumber(r.q) ||
    typeof r.c !== 'string' ||
    typeof r.k !== 'string' ||
    typeof r.s !== 'string' ||
    !STATES.has(r.s) ||
    !isFiniteNumber(r.x) ||
    !json.endsWith('}')
  ) {
    return undefined;
  }
  return {
    kind: 'intent',
    v: r.v as number,
    w: r.w,
    q: r.q as number,
    scope: r.c,
    id: r.k,
    state: r.s as IntentState,
    expiresAt: r.x as number,
    intentJson: json.slice(at + INTENT_FIELD.length, -1),
    json,
  };
}
