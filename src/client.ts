import ky, { type BeforeErrorState, HTTPError, type Hooks, NetworkError, type ResponsePromise, TimeoutError } from 'ky';
import { isSecretName, maskUrl } from './credentials.js';
import { RecoveryPasses } from './auto-recover.js';
import { timeLimitOption } from './config.js';
import type { CallOptions, ClientOptions, Platform } from './options.js';
import { type ClientRuntime, startRuntime } from './runtime.js';
import { Flights } from './flights.js';
import { answerFromJournal, journal, newIntent } from './journal-gate.js';
import {
  listPending,
  type PendingIntent,
  type RecoverOptions,
  type RecoveryOutcome,
  recoverOnce,
  type RelayOptions,
  relayLoop,
  resolveIntent,
} from './recover.js';
import { kyRetry, normalizeRetry } from './retry.js';
import { mergeHeaders, prepareCall, resolveUrl } from './request.js';
import { type CallResult, callPromise, type DurableResponsePromise } from './response.js';

export type Input = string | URL;

/** The methods `enqueue` journals: the keyed ones. */
export type KeyedMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a plain (unkeyed) request accepts. */
export type PlainCallOptions = Omit<CallOptions, 'idempotencyKey' | 'json' | 'body' | 'persistHeaders'>;

export interface DurableClient {
  /** Keyed, journaled before the first byte, retried with the same key. */
  post(input: Input, runtime?: CallOptions): DurableResponsePromise;
  put(input: Input, runtime?: CallOptions): DurableResponsePromise;
  patch(input: Input, runtime?: CallOptions): DurableResponsePromise;
  delete(input: Input, runtime?: CallOptions): DurableResponsePromise;
  /** Plain ky requests: never keyed, never journaled. */
  get(input: Input, runtime?: PlainCallOptions): ResponsePromise;
  head(input: Input, runtime?: PlainCallOptions): ResponsePromise;
  /** Intents of this client's scope whose outcome is unknown (`pending`, `expired`), oldest first. */
  pending(): Promise<PendingIntent[]>;
  /** Claims this client's unowned pending intents (scope and origins) and resends each once, oldest first; one pass at a time. */
  recover(runtime?: RecoverOptions): Promise<RecoveryOutcome[]>;
  /** Settles an unknown outcome by an operator's word. */
  resolve(intent: Pick<PendingIntent, 'scope' | 'id'>, state: 'succeeded' | 'failed'): Promise<void>;
  /** Journals an intent without sending it; `relay()` (here or in any process sharing the store) sends it. */
  enqueue(method: KeyedMethod, input: Input, runtime?: EnqueueOptions): Promise<{ idempotencyKey: string }>;
  /** Sends enqueued and orphaned intents as they appear, until `signal` aborts. */
  relay(runtime?: RelayOptions): Promise<void>;
  /**
   * Resolves once every call this client started has its outcome in the journal. Outcomes are
   * recorded just after the caller gets its answer; wait for this before `process.exit()`.
   */
  flush(): Promise<void>;
  /** Stops `autoRecover` and waits for its pass, flushes, then releases the store. The client may not be used afterwards. */
  close(): Promise<void>;
}

/** What `enqueue` accepts: a call's runtime, and the caller's own transaction where the store has them. */
export interface EnqueueOptions extends Omit<CallOptions, 'signal'> {
  /** With `postgresStore`: a `pg` client inside `BEGIN`; the intent commits or rolls back with the caller's rows. */
  transaction?: unknown;
}

/**
 * Each entry point passes its runtime's default store (SQLite in Node, IndexedDB in browsers) and
 * hashing. Chosen by package export conditions, so no bundle carries the other's.
 */
export function makeCreateClient(platform: Platform) {
  return function createClient(clientOptions: ClientOptions = {}): DurableClient {
    const runtime = startRuntime(clientOptions, platform);
    const flights = new Flights(runtime);
    const recovery = new RecoveryPasses((recoverOptions) => recoverOnce(runtime, recoverOptions));
    if (runtime.config.autoRecover) recovery.watch();
    const flush = () => flights.flush();

    function keyed(method: KeyedMethod) {
      return (input: Input, callOptions: CallOptions = {}): DurableResponsePromise => {
        const result = (async (): Promise<CallResult> => {
          // Aborted before the call: nothing is journaled, so nothing is sent later either.
          callOptions.signal?.throwIfAborted();
          const call = await prepareCall(method, input, callOptions, runtime);
          // Aborted while the call was prepared: still nothing journaled, and an abort event
          // already fired would never reach the caller's listener in join().
          callOptions.signal?.throwIfAborted();
          const settlement = await flights.join(call, callOptions.signal);
          const { answer, error } = settlement;
          // throwHttpErrors: false hands back plain non-2xx answers; idempotency errors still throw.
          if (answer === undefined || (error !== undefined && !(error instanceof HTTPError && !call.throwHttpErrors))) throw error;
          return { answer, idempotencyKey: call.idempotencyKey, replayed: settlement.replayed, attempts: settlement.attempts };
        })();
        return callPromise(result);
      };
    }

    function plain(method: 'get' | 'head') {
      return (input: Input, callOptions: PlainCallOptions = {}): ResponsePromise =>
        ky(resolveUrl(input, runtime, callOptions.searchParams), {
          method,
          headers: mergeHeaders(runtime.config.headers, callOptions.headers),
          retry: kyRetry(callOptions.retry === undefined ? runtime.config.retry : normalizeRetry(callOptions.retry)),
          timeout: timeLimitOption('timeout', callOptions.timeout, runtime.config.timeout),
          totalTimeout: timeLimitOption('totalTimeout', callOptions.totalTimeout, runtime.config.totalTimeout),
          throwHttpErrors: callOptions.throwHttpErrors ?? runtime.config.throwHttpErrors,
          signal: callOptions.signal,
          fetch: runtime.config.fetch,
          hooks: { ...runtime.config.hooks, beforeError: [...(runtime.config.hooks?.beforeError ?? []), maskedError(runtime.config.secretParams)] },
        });
    }

    return {
      post: keyed('POST'),
      put: keyed('PUT'),
      patch: keyed('PATCH'),
      delete: keyed('DELETE'),
      get: plain('get'),
      head: plain('head'),
      pending: () => listPending(runtime),
      recover: (recoverOptions) => recovery.run(recoverOptions),
      resolve: (intent, state) => resolveIntent(runtime, intent, state),
      enqueue: (method, input, callOptions = {}) => enqueue(runtime, method, input, callOptions),
      relay: (relayOptions) => relayLoop(runtime, relayOptions),
      flush,
      async close() {
        await recovery.stop();
        await flush();
        await runtime.housekeeping.settled();
        await runtime.owner.release();
        await runtime.store.close();
      },
    };
  };
}

/**
 * ky's errors name the request they failed on, URL and all: for a plain request, after the
 * client's own `beforeError` hooks, the error is made again naming it masked, as a keyed call's
 * errors do (its response's `url` too), and an HTTPError's runtime without secret headers.
 */
function maskedError(secretParams: ReadonlySet<string>): NonNullable<Hooks['beforeError']>[number] {
  return ({ error }: BeforeErrorState) => {
    if (!(error instanceof HTTPError || error instanceof TimeoutError || error instanceof NetworkError)) return error;
    const request = new Request(maskUrl(error.request.url, secretParams), { method: error.request.method });
    if (error instanceof TimeoutError) return new TimeoutError(request);
    if (error instanceof NetworkError) return new NetworkError(request, { cause: error.cause as Error });
    Object.defineProperty(error.response, 'url', { value: maskUrl(error.response.url, secretParams), configurable: true });
    // ky's options hold the headers sent, the client's credentials among them.
    const headers = new Headers();
    error.options.headers.forEach((value, name) => isSecretName(name, secretParams) || headers.set(name, value));
    return Object.assign(new HTTPError(error.response, request, { ...error.options, headers }), { data: error.data });
  };
}

const KEYED_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function enqueue(runtime: ClientRuntime, method: KeyedMethod, input: Input, callOptions: EnqueueOptions): Promise<{ idempotencyKey: string }> {
  const verb = typeof method === 'string' ? method.toUpperCase() : '';
  if (!KEYED_METHODS.has(verb)) throw new TypeError(`enqueue() takes POST, PUT, PATCH or DELETE, got ${String(method)}.`);
  const call = await prepareCall(verb, input, callOptions, runtime);
  const existing = await journal(call, runtime, newIntent(call, runtime, null), callOptions.transaction);
  // Journaled before, as this request: nothing more to do, whatever became of it. Another request under the key is refused.
  const answered = existing && answerFromJournal(existing, call, runtime);
  if (answered !== undefined && answered.state === undefined) throw answered.error;
  return { idempotencyKey: call.idempotencyKey };
}
