/** What `createClient` and a call take: the options' types and what each means. `config.ts` checks them. */
import type { Hooks, SearchParamsOption } from 'ky';
import type { Classifier } from './classify.js';
import type { DurableEvents } from './events.js';
import type { Sha256 } from './fingerprint.js';
import type { RetryOptions } from './retry-policy.js';
import type { RetryBudgetOptions } from './retry-budget.js';
import type { IntentStore, KeyFormat } from './stores/store.js';

/** Everything `createClient` accepts. Each option is checked once, here; a bad one is a `TypeError` naming it. */
export interface ClientOptions {
  /**
   * Joined to every string input before it is resolved, as in ky 2 (`prefix: 'https://api.example.com/v1/'`
   * then `api.post('payouts')`). Also the default of `origins`.
   */
  prefix?: string | URL;
  /** Resolves relative inputs by the URL standard, as in ky 2. Also the default of `origins`. */
  baseUrl?: string | URL;
  /** Sent on every attempt and every recovery. Never persisted: credentials live here. */
  headers?: HeadersInit;
  /** Where intents are journaled. Default: `sqliteStore()` in Node, `indexedDbStore()` in browsers. */
  store?: IntentStore;
  /** Retries per call: a number (`limit`) or `RetryOptions`. Default `{ limit: 2 }`. */
  retry?: number | RetryOptions;
  /** Per-attempt time limit in ms, covering the answer's headers and its body, or `false`. Default 10 000. */
  timeout?: number | false;
  /**
   * Time limit of a whole call in ms, every attempt and wait included, or `false` (default). When
   * it runs out the intent stays pending. Set it for a `recover()` at start-up that must not hold
   * the start-up back.
   */
  totalTimeout?: number | false;
  /** How long the server remembers a key, ms. Older unknown outcomes become `expired`. Default 24 h (seed 002: 90 000). */
  keyTtlMs?: number;
  /** Longest key accepted. Default 255 (seed 003: 128). */
  maxKeyLength?: number;
  /**
   * Header carrying the key. Default `Idempotency-Key`. A header the secret rule calls a
   * credential (`X-Api-Key`, `Authorization`) is refused: the key is shown and journaled.
   */
  keyHeader?: string;
  /** `'token'` (default, the bare key) or `'sf-string'` (quoted, as the IETF draft writes it). */
  keyFormat?: KeyFormat;
  /** Partition of the journal (a tenant, an API key). Default `'default'`. */
  scope?: string;
  /**
   * Origins that `recover()` and `relay()` may send to. Default: the origin of `prefix` or
   * `baseUrl`; a client with neither must list them to recover.
   */
  origins?: readonly string[];
  /** Request headers kept with the intent, for recovery; `content-type` always is. Credentials are refused. */
  persistHeaders?: readonly string[];
  /**
   * More names held secret, besides every name the rule calls one (see `src/credentials.ts`: any
   * name containing token, secret, key, auth, code, session, password…): their values are masked
   * wherever a URL is shown (query and fragment), and headers so named are never journaled.
   */
  secretParams?: readonly string[];
  /** How long an owner's claim on an intent lasts, ms; renewed while it works. Default 30 000. */
  leaseMs?: number;
  /**
   * Retries this client may spend per origin, or `false` for no limit but `retry.limit`: a quota
   * as in the AWS SDKs' standard retry mode. Each origin has `capacity` tokens (default 500); a
   * retry takes `retryCost` (5), or `timeoutCost` (10) after an attempt that timed out; a call that
   * succeeds after retries gives back all it took, and one that succeeds without spending earns
   * `successReward` (1), up to the capacity. Waiting out a key in flight (409) is free.
   * `recover()` and `relay()` draw on the same tokens but leave half the capacity to live calls.
   * A call the budget stops rejects with `RetryBudgetError` (event `throttle`); its intent stays
   * pending.
   */
  retryBudget?: RetryBudgetOptions | false;
  /** Teach the client an unusual server's idempotency answers; runs before the built-in rules. */
  classify?: Classifier;
  /** More response headers that mark a replay (value `true`, `1` or `replayed`). */
  replayHeaders?: readonly string[];
  /** The fetch to use. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** ky 2's hooks (each receives ky's state object), run on every attempt. */
  hooks?: Hooks;
  /** Listeners for what each call does. A listener that throws or rejects never changes a call. */
  on?: DurableEvents;
  /** Default query parameters, merged under each call's. */
  searchParams?: SearchParamsOption;
  /** `false` resolves with plain non-2xx answers instead of rejecting with `HTTPError`. Default `true`. */
  throwHttpErrors?: boolean;
  /**
   * Calls `recover()` when the client is created, when the network comes back (`online`) and when
   * the page becomes visible again; one pass at a time, until `close()`. Meant for pages and
   * workers (elsewhere only the pass at creation happens). Needs `prefix`, `baseUrl` or `origins`.
   * Default `false`.
   */
  autoRecover?: boolean;
}

export interface CallOptions {
  /** Serialised with JSON.stringify; sets `content-type: application/json` unless a JSON-family type is given. */
  json?: unknown;
  body?: BodyInit | null;
  headers?: HeadersInit;
  /** A stable key makes a script re-runnable; default a fresh UUID per call. */
  idempotencyKey?: string;
  /** Aborting stops this caller at once; the intent stays pending for `recover()`. */
  signal?: AbortSignal;
  timeout?: number | false;
  totalTimeout?: number | false;
  searchParams?: SearchParamsOption;
  throwHttpErrors?: boolean;
  retry?: number | RetryOptions;
  /** Headers kept with this intent besides the client's `persistHeaders` (e.g. `stripe-account`). */
  persistHeaders?: readonly string[];
}

/** What an entry point supplies for its runtime. */
export interface Platform {
  /** The store a client uses when given none. */
  defaultStore: () => IntentStore;
  sha256: Sha256;
}

