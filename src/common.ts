/** What every entry point exports besides `createClient`. */
export { HTTPError, NetworkError, TimeoutError } from 'ky';
export {
  IdempotencyError,
  IdempotencyMismatchError,
  IdempotencyConflictError,
  IdempotencyKeyInvalidError,
  IdempotencyKeyExpiredError,
  IdempotencyStoreError,
  IdempotencyRedirectError,
  IdempotencyIntegrityError,
  RetryBudgetError,
} from './errors.js';
export { memoryStore } from './stores/memory.js';
export {
  applyChange,
  applyClaim,
  checkPayloads,
  checkTimes,
  DamagedRecordError,
  recordDamageOf,
  intentId,
  isClaimable,
  isCompactable,
  isExpiredAtClaim,
  isKnownState,
  LATEST_INSTANT,
  LONGEST_SPAN_MS,
  PayloadTooLargeError,
  readRecord,
  readRecords,
  rebased,
  TimeRangeError,
  UNSETTLED_STATES,
} from './stores/store.js';
export { MAX_RETRY_AFTER_MS } from './retry-decision.js';
export type {
  ClaimRequest,
  CreateOptions,
  DamagedRecord,
  Enlistment,
  Intent,
  IntentChange,
  IntentState,
  IntentStore,
  IntentSummary,
  KeyFormat,
  ListQuery,
  StoredResponse,
} from './stores/store.js';
export type { DurableClient, EnqueueOptions, Input, KeyedMethod, PlainCallOptions } from './client.js';
export type { ClientOptions, CallOptions } from './options.js';
export type { RetryOptions } from './retry.js';
export type { RetryBudgetOptions } from './retry-budget.js';
export type { Classifier, IdempotencyAnswerKind } from './classify.js';
export type { DurableResponse, DurableResponsePromise } from './response.js';
export type { PendingIntent, RecoverOptions, RecoveryOutcome, RelayOptions } from './recover.js';
export type { DurableEvents, OperationEvent } from './events.js';
