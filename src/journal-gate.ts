/**
 * The journal's gate: the record a call journals before anything is sent, the store as a call
 * sees it (every failure an IdempotencyStoreError that says nothing was sent), and the one rule
 * for what the journal answers a call whose key it already holds — a repeat, a mismatch, an
 * expired intent — used by calls, by a client's in-flight operations and by enqueue().
 */
import { describe, describeCall } from './about.js';
import { answerError, expiredError, mismatch, storeError } from './call-errors.js';
import type { PreparedCall, Settlement } from './call-types.js';
import { classifyAnswer } from './classify.js';
import { IdempotencyError, IdempotencyStoreError } from './errors.js';
import { emit, traceparentOf } from './events.js';
import { fromStoredResponse } from './response.js';
import type { ClientRuntime } from './runtime.js';
import { type Intent, isKnownState } from './stores/store.js';

/** What the gate needs to know of an intent the journal (or this client's operation in flight) holds for a call's key. */
export type KnownIntent = Pick<Intent, 'fingerprint' | 'state' | 'idempotencyKey' | 'method' | 'url' | 'response'>;

/**
 * The one rule for a call whose key is already known: a mismatch (another request under the key)
 * is refused; a settled or expired intent answers the call without a request, each caller its own
 * answer or error; a pending one resolves undefined (send it, once it is owned). Emits
 * `journalAnswer` where the journal answers.
 */
export function answerFromJournal(existing: KnownIntent, call: PreparedCall, runtime: ClientRuntime): Settlement | undefined {
  if (existing.fingerprint !== call.fingerprint) return mismatch(call, runtime);
  const about = describe(existing, runtime);
  if (existing.state === 'expired') {
    emit(runtime.config.on, 'journalAnswer', { ...about, state: 'expired' });
    return { state: 'expired', error: expiredError(existing, runtime) };
  }
  if (existing.state === 'pending') return undefined;
  const { idempotencyKey } = existing;
  if (!isKnownState(existing.state)) {
    return { state: undefined, error: new IdempotencyError(`Key "${idempotencyKey}" is in state "${existing.state}", written by a newer version of durable-fetch; nothing was sent.`, { idempotencyKey }) };
  }
  if (existing.response === undefined) {
    // Settled by an operator (resolve()), or answered with more than the store keeps: there is no
    // answer to give, and nothing may be sent.
    return {
      state: existing.state,
      error: new IdempotencyError(
        `Key "${idempotencyKey}" is settled as ${existing.state} with no answer stored (settled by an operator, or its answer was too big to journal); nothing was sent.`,
        { idempotencyKey },
      ),
    };
  }
  // The call's own URL: the journal's row may have been written by another program.
  const answer = fromStoredResponse(existing.response, call.url.href);
  emit(runtime.config.on, 'journalAnswer', { ...about, state: existing.state });
  if (existing.state === 'succeeded') return { state: 'succeeded', answer, replayed: true, attempts: 0 };
  const verdict = classifyAnswer(answer, runtime.config);
  return { state: 'failed', answer, error: answerError(verdict, answer, existing, runtime) };
}
/**
 * The record journaled before the first attempt: owned by `owner` from the start (null: enqueued,
 * for a relay). Its times are this process's; the store re-bases them on its own clock.
 */
export function newIntent(call: PreparedCall, runtime: ClientRuntime, owner: string | null): Intent {
  const now = Date.now();
  const intent: Intent = {
    scope: call.scope,
    id: call.id,
    idempotencyKey: call.idempotencyKey,
    method: call.method,
    url: call.url.href,
    origin: call.url.origin,
    headers: call.persistedHeaders,
    keyHeader: call.keyHeader,
    keyFormat: call.keyFormat,
    fingerprint: call.fingerprint,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + runtime.config.keyTtlMs,
    attempts: 0,
    state: 'pending',
    owner,
    leaseUntil: owner === null ? 0 : now + runtime.config.leaseMs,
    version: 1,
  };
  // Set only when there is one: a record has no `body` or `traceparent` key at all otherwise.
  if (call.body !== undefined) intent.body = call.body;
  const traceparent = traceparentOf(runtime.config.on, () => describeCall(call, runtime));
  if (traceparent !== undefined) intent.traceparent = traceparent;
  return intent;
}
/**
 * Journals the call's intent (owned by `owner`; null: enqueued, for a relay), inside the caller's
 * own transaction where one is given: resolves undefined when it is new, else the intent already
 * journaled under the key, untouched. Counted for housekeeping.
 */
export async function journal(call: PreparedCall, runtime: ClientRuntime, intent: Intent, transaction?: unknown): Promise<Intent | undefined> {
  const existing = await guardedStore(call, runtime).create(intent, transaction);
  if (existing === undefined) runtime.housekeeping.journaled();
  return existing;
}

/** The store as a call sees it before sending: every failure is an `IdempotencyStoreError`, and nothing has been sent. */
export function guardedStore(call: PreparedCall, runtime: ClientRuntime) {
  const { store } = runtime;
  const guard = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (cause) {
      throw storeError(`Could not ${what} the intent of key "${call.idempotencyKey}"; nothing was sent`, call.idempotencyKey, cause);
    }
  };
  return {
    owner: () => guard('enlist an owner for', () => runtime.owner.id()),
    get: () => guard('read', () => store.get(call.scope, call.id)),
    create: (intent: Intent, transaction?: unknown) => guard('journal', () => store.create(intent, transaction === undefined ? undefined : { transaction })),
    claimOne: (owner: string, origin: string) =>
      guard('take over', () => store.claim({ scope: call.scope, origins: [origin], states: ['pending'], owner, leaseMs: runtime.config.leaseMs, limit: 1, id: call.id })),
  };
}
