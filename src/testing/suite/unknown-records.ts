import { describe, expect, it } from 'vitest';
import { claimRequest } from '../claims.js';
import { UNKNOWN_STATE, makeIntent } from '../intents.js';
import type { SuiteContext } from './context.js';

/** A record a newer version wrote is invisible to list and claim, and never deleted. */
export function describeUnknownRecords({ withStore, options }: SuiteContext): void {
  const plant = options.plantUnknown;
  if (plant) describe('records of states this version does not know', () => {
    it('leaves them out of list and claim, and never compacts them', withStore(async (store) => {
      const known = makeIntent();
      const unknown = makeIntent({ state: UNKNOWN_STATE, expiresAt: 0, createdAt: 1 });
      await store.create(known);
      await plant!(store, unknown);
      expect((await store.list()).map((summary) => summary.id)).toEqual([known.id]);
      await expect(store.list({ states: [UNKNOWN_STATE] })).resolves.toEqual([]);
      const claimed = await store.claim(claimRequest({ states: ['pending', UNKNOWN_STATE] }));
      expect(claimed.map((intent) => intent.id)).toEqual([known.id]);
      await expect(store.compact()).resolves.toBe(0);
      await expect(store.get(unknown.scope, unknown.id)).resolves.toMatchObject({ state: UNKNOWN_STATE });
    }));
  });
}
