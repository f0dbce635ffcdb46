import { describe } from 'vitest';
import type { IntentStore } from '../stores/store.js';
import { describeClaims } from './suite/claims.js';
import { describeClock } from './suite/clock.js';
import { describeLiveness } from './suite/liveness.js';
import { describeCompaction } from './suite/compaction.js';
import { describeCompareAndSet } from './suite/compare-and-set.js';
import { describeDamagedRecords } from './suite/damaged-records.js';
import type { IntentStoreSuiteOptions, SuiteContext } from './suite/context.js';
import { describeListing } from './suite/listing.js';
import { describePayloads } from './suite/payloads.js';
import { describeProcesses } from './suite/processes.js';
import { describeRecords } from './suite/records.js';
import { describeUnknownRecords } from './suite/unknown-records.js';

export type { IntentStoreSuiteOptions } from './suite/context.js';

/**
 * The `IntentStore` conformance suite, as vitest tests: run it against any store to show it keeps
 * the contract (records, payloads byte for byte, compare-and-set, claims under contention, the
 * store's clock, owners' liveness, listing, compaction, records of newer versions, times out of
 * range and damaged records, and optionally
 * claims across processes).
 * `makeStore` is called for every test and should give an empty store; the suite closes it.
 *
 * @example
 * describeIntentStore('my store', () => myStore({ path: freshTempPath() }));
 */
export function describeIntentStore(
  name: string,
  makeStore: () => IntentStore | Promise<IntentStore>,
  options: IntentStoreSuiteOptions = {},
): void {
  const context: SuiteContext = {
    options,
    withStore: (test) => async () => {
      const store = await makeStore();
      try {
        await test(store);
      } finally {
        await store.close();
      }
    },
  };
  describe(`IntentStore conformance: ${name}`, () => {
    describeRecords(context);
    describePayloads(context);
    describeCompareAndSet(context);
    describeClaims(context);
    describeClock(context);
    describeLiveness(context);
    describeListing(context);
    describeCompaction(context);
    describeUnknownRecords(context);
    describeDamagedRecords(context);
    describeProcesses(context);
  });
}
