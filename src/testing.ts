/**
 * durable-fetch/testing: what store authors and test writers need. `describeIntentStore` is the
 * IntentStore conformance suite (vitest); the helpers make intents and bodies for such tests.
 */
export { describeIntentStore, type IntentStoreSuiteOptions } from './testing/describe-intent-store.js';
export { everyByteValue, seededBytes, seededRandom, seededShuffle } from './testing/bytes.js';
export { claimRequest, claimUntilEmpty } from './testing/claims.js';
export { ORIGIN, UNKNOWN_STATE, makeIntent, makeIntents, timeless } from './testing/intents.js';
