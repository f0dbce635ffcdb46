/**
 * What the store (main thread) and its worker say to each other. Every request carries a
 * sequence number its reply echoes; replies travel in one message per batch, with the body
 * buffers transferred rather than copied.
 */
import type { ClaimRequest, DamagedRecord, Intent, IntentChange, IntentSummary, ListQuery } from '../store.ts';
import type { FileIdentity } from './files.ts';

/** Reads: answered at once, from committed data, whatever happens to the writes around them. */
export type ReadRequest =
  | { op: 'get'; scope: string; id: string }
  | { op: 'list'; query: Omit<ListQuery, 'onDamaged'> | undefined }
  | { op: 'stats' };

/** A list's answer: the intents, and the damaged records it left out, for the store to tell its caller of. */
export interface ListReply {
  intents: IntentSummary[];
  damaged: DamagedRecord[];
}

/** Writes: resolved only once the transaction holding them has committed. */
export type WriteRequest =
  | { op: 'create'; intent: Intent }
  | { op: 'update'; scope: string; id: string; version: number; change: IntentChange }
  | { op: 'claim'; request: ClaimRequest }
  | { op: 'compact' };

/** Closes the database once everything sent before it is answered. */
export type CloseRequest = { op: 'close' };

export type StoreRequest = ReadRequest | WriteRequest | CloseRequest;

export type Envelope = StoreRequest & { seq: number };

export type Reply = { seq: number; value?: unknown; error?: string };

export type WorkerMessage = { type: 'ready' } | { type: 'failed'; error: string } | { type: 'replies'; replies: Reply[] };

/** What the worker opens: one database file, shared by every store of the process on that path. */
export interface WorkerConfig {
  path: string;
  busyTimeoutMs: number;
  compactEvery: number;
}

/**
 * What the worker is started with: its config, and its end of the channel requests and replies
 * travel on. A MessageChannel port rather than parentPort, because receiveMessageOnPort (how a
 * batch takes every queued request at once) accepts only a real MessagePort, which Deno's
 * parentPort is not.
 */
export interface WorkerData extends WorkerConfig {
  port: import('node:worker_threads').MessagePort;
  /** The database file as checked before the worker started (files.ts): SQLite must have opened this one. */
  file: FileIdentity;
  /**
   * One BigInt64: the last sequence number whose COMMIT the worker has begun. Shared memory, so
   * the main thread still reads it after the worker died without a word (batch.ts).
   */
  committing: SharedArrayBuffer;
}

/** Counters for tests and benchmarks: how many transactions committed, and what went into them. */
export interface SqliteStats {
  /** Transactions committed, each one fsync of the WAL: fewer than `writes` means group commit worked. */
  commits: number;
  /** Writes committed (create, update, claim, compact). */
  writes: number;
  /** Transactions rolled back because BEGIN or COMMIT failed; every write in them was rejected. */
  failedCommits: number;
}
