import ky, { HTTPError, type NormalizedOptions as KyNormalizedOptions } from 'ky';
import { classifyAnswer, type Verdict } from './classify.js';
import {
  IdempotencyConflictError,
  IdempotencyKeyExpiredError,
  IdempotencyKeyInvalidError,
  IdempotencyMismatchError,
  IdempotencyStoreError,
} from './errors.js';
import { emit } from './events.js';
import { toBase64 } from './fingerprint.js';
import type { NormalizedOptions } from './options.js';
import type { PreparedCall } from './request.js';
import { fromStoredResponse, toResponse, toStoredResponse, type Answer } from './response.js';
import { RetryableAnswer, withRetries } from './retry.js';
import type { Intent, IntentState, IntentStore } from './stores/store.js';

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
}

/**
 * One logical operation: key → journal → attempts → classify → settle.
 * Nothing is sent until the intent's `put` has resolved.
 */
export async function runOperation(
  call: PreparedCall,
  options: NormalizedOptions,
  { resendExpired = false } = {},
): Promise<Settlement> {
  const journal = journalOf(call, options.store);
  const existing = call.generatedKey ? undefined : await journal.get();
  const { on } = options;
  const about = { idempotencyKey: call.idempotencyKey, method: call.method, url: call.url.href };

  let intent: Intent;
  if (existing === undefined) {
    intent = newIntent(call, options);
    await journal.put(intent);
  } else {
    let answered = answerFromJournal(existing, call, options);
    if (answered === undefined && !resendExpired && Date.now() - existing.createdAt > options.keyTtlMs) {
      await journal.put({ ...existing, state: 'expired', updatedAt: Date.now() });
      answered = { state: 'expired', error: expiredError(existing, options) };
    }
    if (answered !== undefined) {
      if (answered.state !== undefined && answered.state !== 'pending') emit(on.journalAnswer, { ...about, state: answered.state });
      return answered;
    }
    intent = existing;
  }

  let attempts = 0;
  const sendOnce = async (): Promise<{ answer: Answer; verdict: Verdict }> => {
    attempts++;
    emit(on.attempt, { ...about, attempt: intent.attempts + attempts });
    const response = await ky(call.url, {
      method: call.method,
      headers: call.headers,
      body: call.body as BodyInit | undefined,
      timeout: call.timeout,
      retry: 0,
      throwHttpErrors: false,
      signal: call.signal,
      fetch: options.fetch,
      hooks: options.hooks,
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const text = response.ok ? '' : new TextDecoder().decode(bytes);
    const verdict = classifyAnswer(response, text, options);
    const answer = { status: response.status, statusText: response.statusText, headers: response.headers, bytes, url: response.url };
    if (verdict.kind === 'transient' || verdict.kind === 'conflict') throw new RetryableAnswer(answer, verdict);
    return { answer, verdict };
  };

  let result: { answer: Answer; verdict: Verdict };
  try {
    result = await withRetries(sendOnce, call.retry, call.signal, (event) => emit(on.retry, { ...about, ...event }));
  } catch (error) {
    // An abort stops at once: the intent stays pending exactly as journaled.
    if (call.signal?.aborted) return { state: 'pending', error: call.signal.reason ?? error, attempts };
    await journal.settle({ ...intent, attempts: intent.attempts + attempts, updatedAt: Date.now() });
    const finalError = error instanceof RetryableAnswer ? answerError(error.verdict, error.answer, call) : error;
    const answer = error instanceof RetryableAnswer ? error.answer : undefined;
    return { state: 'pending', answer, error: finalError, attempts };
  }

  const { answer, verdict } = result;
  const state = verdict.kind === 'success' ? 'succeeded' : 'failed';
  await journal.settle({
    ...intent,
    state,
    attempts: intent.attempts + attempts,
    updatedAt: Date.now(),
    response: toStoredResponse(answer),
  });
  if (verdict.kind === 'success') {
    if (verdict.replayed) emit(on.replay, { ...about, status: answer.status });
    return { state, answer, replayed: verdict.replayed, attempts };
  }
  return { state, answer, error: answerError(verdict, answer, call), attempts };
}

/** What the journal already knows settles the call without a request, or says to resend. */
function answerFromJournal(existing: Intent, call: PreparedCall, options: NormalizedOptions): Settlement | undefined {
  if (existing.fingerprint !== call.fingerprint) return mismatch(call);
  if (existing.state === 'expired') {
    return { state: 'expired', error: expiredError(existing, options) };
  }
  if (existing.state === 'pending' || existing.response === undefined) return undefined;
  const answer = fromStoredResponse(existing.response, existing.url);
  if (existing.state === 'succeeded') return { state: 'succeeded', answer, replayed: true, attempts: 0 };
  const verdict = classifyAnswer(toResponse(answer), new TextDecoder().decode(answer.bytes), options);
  return { state: 'failed', answer, error: answerError(verdict, answer, call) };
}

/** The key already stands for another request on this route: refused before anything is sent. */
export function mismatch(call: PreparedCall): Settlement {
  const error = new IdempotencyMismatchError(
    `Key "${call.idempotencyKey}" was used for another ${call.method} ${call.url.pathname} request; nothing was sent. Use a new key.`,
    { idempotencyKey: call.idempotencyKey },
  );
  return { state: undefined, error };
}

function newIntent(call: PreparedCall, options: NormalizedOptions): Intent {
  const now = Date.now();
  return {
    scope: call.scope,
    idempotencyKey: call.idempotencyKey,
    method: call.method,
    url: call.url.href,
    headers: call.persistedHeaders,
    ...(call.body === undefined ? {} : { body: toBase64(call.body) }),
    fingerprint: call.fingerprint,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + options.keyTtlMs,
    attempts: 0,
    state: 'pending',
  };
}

/**
 * Store failures before sending stop the call. Recording the outcome may fail after the server
 * answered: the answer still goes to the caller, because the intent stays pending under the same
 * key and a later `recover()` gets the server's replay rather than a second operation.
 */
function journalOf(call: PreparedCall, store: IntentStore) {
  const guard = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (cause) {
      throw new IdempotencyStoreError(`Could not ${what} the intent of key "${call.idempotencyKey}"; nothing was sent: ${String(cause)}`, {
        idempotencyKey: call.idempotencyKey,
        cause,
      });
    }
  };
  return {
    get: () => guard('read', () => store.get(call.scope, call.id)),
    put: (intent: Intent) => guard('store', () => store.put(intent)),
    settle: (intent: Intent) => store.put(intent).catch(() => undefined),
  };
}

function expiredError(intent: Intent, options: NormalizedOptions): IdempotencyKeyExpiredError {
  return new IdempotencyKeyExpiredError(
    `Key "${intent.idempotencyKey}" is older than keyTtlMs (${options.keyTtlMs} ms): not resent, as the server may run it twice.`,
    { idempotencyKey: intent.idempotencyKey },
  );
}

/** What each kind of server refusal says, and what to do about it. */
const REFUSALS = {
  mismatch: [IdempotencyMismatchError, 'was used for another request'],
  'invalid-key': [IdempotencyKeyInvalidError, 'is invalid'],
  conflict: [IdempotencyConflictError, 'is still in flight; the intent stays pending'],
} as const;

/** The error a final (or finally retried-out) non-2xx answer stands for. */
function answerError(verdict: Verdict, answer: Answer, call: PreparedCall): Error {
  const code = verdict.kind === 'success' ? undefined : verdict.code;
  const refusal = verdict.kind === 'conflict' && !verdict.signal ? undefined : REFUSALS[verdict.kind as keyof typeof REFUSALS];
  const response = toResponse(answer);
  if (refusal === undefined) {
    const request = new Request(call.url, { method: call.method, headers: call.headers });
    return Object.assign(new HTTPError(response, request, {} as KyNormalizedOptions), { idempotencyKey: call.idempotencyKey });
  }
  const [ErrorClass, says] = refusal;
  return new ErrorClass(`Server says key "${call.idempotencyKey}" ${says} (${answer.status} on ${call.method} ${call.url.href}).`, {
    idempotencyKey: call.idempotencyKey,
    status: answer.status,
    code,
    response,
  });
}
