/**
 * What a call hands from step to step — prepared, owned, sent, settled — and nothing else: a leaf
 * module every step imports, so the steps never import each other for their types.
 */
import type { Lease } from './ownership.js';
import type { Answer } from './response.js';
import type { RetryPolicy } from './retry.js';
import type { Intent, IntentState, KeyFormat } from './stores/store.js';

/** One keyed call, fully resolved: the exact bytes and headers every attempt will send. */
export interface PreparedCall {
  scope: string;
  /** The intent's identity within its scope (key + method + origin + path). */
  id: string;
  idempotencyKey: string;
  keyHeader: string;
  keyFormat: KeyFormat;
  method: string;
  url: URL;
  /** Everything sent, the key header included. Held in memory only. */
  headers: Headers;
  /** The allow-listed subset kept with the intent. */
  persistedHeaders: Record<string, string>;
  /** A private copy: the caller changing its buffer afterwards changes nothing sent. */
  body: Uint8Array | undefined;
  fingerprint: string;
  timeout: number | false;
  totalTimeout: number | false;
  retry: RetryPolicy;
  throwHttpErrors: boolean;
}


/** How one logical operation ended, for the caller and for `recover()`. */
export interface Settlement {
  /** The intent's state afterwards; undefined when the journal was left untouched. */
  state: IntentState | undefined;
  answer?: Answer;
  error?: unknown;
  /** Default false. */
  replayed?: boolean;
  /** Attempts this call made; default 0 (the journal answered). */
  attempts?: number;
  /** Resolves once the outcome is in the journal (or could not be written). */
  journaled?: Promise<unknown>;
}
/** How requests of one operation go out: the headers of this moment (credentials included), limits, retries. */
export interface Transport {
  headers: Headers;
  timeout: number | false;
  retry: RetryPolicy;
  /** When it gives up for now, the intent is left to others after this many ms (0: at once). */
  retryLaterMs?: number;
  /** The intent's URL, where the caller has it parsed already. */
  url?: URL;
  /** Set by `recover()` and `relay()`: their retries leave the retry budget's reserve to live calls. */
  recovery?: boolean;
}
/** An intent this client owns now, with its lease. */
export interface Owned {
  intent: Intent;
  lease: Lease;
}
/** What events and messages say about an operation. */
export interface OperationAbout {
  idempotencyKey: string;
  method: string;
  /** Masked: no credential-like query or fragment value, no userinfo. */
  url: string;
}
