import ky, { HTTPError, type ResponsePromise } from 'ky';
import { emit } from './events.js';
import { mismatch, type Settlement, runOperation } from './operation.js';
import { type CallOptions, type ClientOptions, normalizeOptions, normalizeTimeout, type Platform } from './options.js';
import {
  callFromIntent,
  listPending,
  type PendingIntent,
  type RecoverOptions,
  type RecoveryOutcome,
  toPendingIntent,
  toRecoveryOutcome,
} from './recover.js';
import { normalizeRetry } from './retry.js';
import { mergeHeaders, type PreparedCall, prepareCall, resolveUrl } from './request.js';
import { type DurableResponse, type DurableResponsePromise, toDurableResponse, withShortcuts } from './response.js';

export type Input = string | URL;

export interface DurableClient {
  /** Keyed, journaled, retried with the same key. */
  post(input: Input, options?: CallOptions): DurableResponsePromise;
  put(input: Input, options?: CallOptions): DurableResponsePromise;
  patch(input: Input, options?: CallOptions): DurableResponsePromise;
  delete(input: Input, options?: CallOptions): DurableResponsePromise;
  /** Plain ky requests: never keyed, never journaled. */
  get(input: Input, options?: Omit<CallOptions, 'idempotencyKey' | 'json' | 'body'>): ResponsePromise;
  head(input: Input, options?: Omit<CallOptions, 'idempotencyKey' | 'json' | 'body'>): ResponsePromise;
  /** Intents not settled yet, oldest first. */
  pending(): Promise<PendingIntent[]>;
  /** Resend each pending intent with its original key and body; oldest first. */
  recover(options?: RecoverOptions): Promise<RecoveryOutcome[]>;
}

/**
 * Each entry point passes its runtime's default store (the file journal in Node, IndexedDB in
 * browsers) and hashing. Chosen by package export conditions, so no bundle carries the other's.
 */
export function makeCreateClient(platform: Platform) {
  return function createClient(clientOptions: ClientOptions = {}): DurableClient {
    const options = normalizeOptions(clientOptions, platform);
    // Single-flight: two calls for one intent on this client share one operation.
    const inFlight = new Map<string, { fingerprint: string; settlement: Promise<Settlement> }>();

    function operate(call: PreparedCall, run: () => Promise<Settlement>): Promise<Settlement> {
      const slot = `${call.scope}\n${call.id}`;
      const current = inFlight.get(slot);
      if (current !== undefined) {
        return current.fingerprint === call.fingerprint ? current.settlement : Promise.resolve(mismatch(call));
      }
      const settlement = run().finally(() => inFlight.delete(slot));
      inFlight.set(slot, { fingerprint: call.fingerprint, settlement });
      return settlement;
    }

    function keyed(method: string) {
      return (input: Input, callOptions: CallOptions = {}): DurableResponsePromise => {
        const response = (async (): Promise<DurableResponse> => {
          const call = await prepareCall(method, input, callOptions, options);
          const settlement = await operate(call, () => runOperation(call, options));
          const { answer, error } = settlement;
          // throwHttpErrors: false hands back plain non-2xx answers; idempotency errors still throw.
          if (answer === undefined || (error !== undefined && !(error instanceof HTTPError && !call.throwHttpErrors))) throw error;
          return toDurableResponse(answer, call.idempotencyKey, settlement);
        })();
        return withShortcuts(response);
      };
    }

    function plain(method: 'get' | 'head') {
      return (input: Input, callOptions: Omit<CallOptions, 'idempotencyKey' | 'json' | 'body'> = {}): ResponsePromise =>
        ky(resolveUrl(input, options, callOptions.searchParams), {
          method,
          headers: mergeHeaders(options.headers, callOptions.headers),
          retry: { limit: (callOptions.retry === undefined ? options.retry : normalizeRetry(callOptions.retry)).limit },
          timeout: normalizeTimeout(callOptions.timeout, options.timeout),
          throwHttpErrors: callOptions.throwHttpErrors ?? options.throwHttpErrors,
          signal: callOptions.signal,
          fetch: options.fetch,
          hooks: options.hooks,
        });
    }

    return {
      post: keyed('POST'),
      put: keyed('PUT'),
      patch: keyed('PATCH'),
      delete: keyed('DELETE'),
      get: plain('get'),
      head: plain('head'),
      async pending() {
        return (await listPending(options)).map(toPendingIntent);
      },
      async recover(recoverOptions: RecoverOptions = {}) {
        const outcomes: RecoveryOutcome[] = [];
        for (const intent of await listPending(options)) {
          const call = callFromIntent(intent, options);
          const settlement = await operate(call, () => runOperation(call, options, recoverOptions));
          const outcome = toRecoveryOutcome(intent, settlement);
          emit(options.on.recovery, { method: intent.method, url: intent.url, ...outcome });
          outcomes.push(outcome);
        }
        return outcomes;
      },
    };
  };
}
