/** What every entry point exports besides `createClient`. */
export { HTTPError, TimeoutError } from 'ky';
export {
  IdempotencyError,
  IdempotencyMismatchError,
  IdempotencyConflictError,
  IdempotencyKeyInvalidError,
  IdempotencyKeyExpiredError,
  IdempotencyStoreError,
} from './errors.js';
export { memoryStore } from './stores/memory.js';
export { intentId } from './stores/store.js';
export type { Intent, IntentState, IntentStore, StoredResponse } from './stores/store.js';
export type { DurableClient, Input } from './client.js';
export type { ClientOptions, CallOptions } from './options.js';
export type { RetryOptions } from './retry.js';
export type { Classifier, IdempotencyAnswerKind } from './classify.js';
export type { KeyFormat } from './key.js';
export type { DurableResponse, DurableResponsePromise } from './response.js';
export type { PendingIntent, RecoverOptions, RecoveryOutcome } from './recover.js';
export type { DurableEvents, OperationEvent } from './events.js';
