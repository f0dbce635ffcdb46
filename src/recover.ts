import { fromBase64 } from './fingerprint.js';
import { formatKey } from './key.js';
import type { NormalizedOptions } from './options.js';
import { mergeHeaders, type PreparedCall } from './request.js';
import type { Settlement } from './operation.js';
import { toDurableResponse, type DurableResponse } from './response.js';
import { type Intent, type IntentState, intentId } from './stores/store.js';

/** What `pending()` lists: an operation that started and has not settled. */
export interface PendingIntent {
  scope: string;
  idempotencyKey: string;
  method: string;
  url: string;
  /** Epoch ms when the intent was journaled. */
  createdAt: number;
  attempts: number;
  state: IntentState;
  updatedAt: number;
  /** When the key's TTL ends (createdAt + keyTtlMs). */
  expiresAt: number;
}

export interface RecoverOptions {
  /** Resend intents older than `keyTtlMs` too, accepting that the server may run them twice. Default false. */
  resendExpired?: boolean;
}

export interface RecoveryOutcome {
  idempotencyKey: string;
  state: 'succeeded' | 'failed' | 'expired' | 'pending';
  response?: DurableResponse;
  error?: unknown;
}

/**
 * Pending intents of the client's scope, oldest first. A client without a scope owns only the
 * intents journaled under the default scope (their own origin): never a tenant's, which would be
 * resent with this client's credentials.
 */
export async function listPending(options: NormalizedOptions): Promise<Intent[]> {
  const intents = await options.store.list(options.scope);
  return intents
    .filter((intent) => intent.state === 'pending' && (options.scope !== undefined || intent.scope === new URL(intent.url).origin))
    .sort((a, b) => a.createdAt - b.createdAt);
}

/** What `pending()` shows of an intent: never its body, headers or answer. */
export function toPendingIntent({ body, headers, response, fingerprint, ...shown }: Intent): PendingIntent {
  return shown;
}

/** The stored request, with the client's current headers (credentials come from the client, never the journal). */
export function callFromIntent(intent: Intent, options: NormalizedOptions): PreparedCall {
  const headers = mergeHeaders(options.headers, intent.headers);
  headers.set(options.keyHeader, formatKey(intent.idempotencyKey, options.keyFormat));
  return {
    scope: intent.scope,
    id: intentId(intent),
    idempotencyKey: intent.idempotencyKey,
    method: intent.method,
    url: new URL(intent.url),
    headers,
    persistedHeaders: intent.headers,
    body: intent.body === undefined ? undefined : fromBase64(intent.body),
    fingerprint: intent.fingerprint,
    generatedKey: false,
    signal: undefined,
    timeout: options.timeout,
    retry: options.retry,
    throwHttpErrors: true,
  };
}

export function toRecoveryOutcome(intent: Intent, { state = 'pending', answer, error, ...details }: Settlement): RecoveryOutcome {
  const { idempotencyKey } = intent;
  const outcome: RecoveryOutcome = { idempotencyKey, state: state as RecoveryOutcome['state'] };
  if (error !== undefined) outcome.error = error;
  else if (answer !== undefined) outcome.response = toDurableResponse(answer, idempotencyKey, details);
  return outcome;
}
