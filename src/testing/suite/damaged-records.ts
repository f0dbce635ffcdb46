import { describe, expect, it } from 'vitest';
import { type DamagedRecord, LATEST_INSTANT, LONGEST_SPAN_MS } from '../../stores/store.js';
import { claimRequest } from '../claims.js';
import { makeIntent } from '../intents.js';
import type { DamagedTime, SuiteContext } from './context.js';


/** Durations no store keeps: not whole, not a number, negative, or longer than ten years (`LONGEST_SPAN_MS`). */
const BAD_LEASES: unknown[] = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e13, 1e16, LONGEST_SPAN_MS + 1, '60000'];

/**
 * One absurd time in each field, as a row written by hand or by a damaged file may hold it, and
 * every kind of storage can: far in the future (past 2^53 too, where a double loses whole
 * numbers, which is where `Retry-After: 1e13` once put a lease), and before 1970.
 */
const ABSURD: readonly { field: DamagedTime; value: number }[] = [
  { field: 'createdAt', value: 1e16 },
  { field: 'updatedAt', value: -5 },
  { field: 'expiresAt', value: 2 ** 53 + 2 },
  { field: 'leaseUntil', value: 2 ** 60 },
];

/**
 * Times a store keeps are sane (store.ts: `checkTimes` on every write), and a record whose times
 * are not — planted behind the store's back — is damaged: left out of list and claim, told of by
 * list once per record (`onDamaged`), never taken, compacted, or thrown for the whole listing.
 */
export function describeDamagedRecords({ withStore, options }: SuiteContext): void {
  describe('times out of range', () => {
    it('refuses a change, a claim or a record with a time out of range, writing nothing', withStore(async (store) => {
      const intent = makeIntent();
      await store.create(intent);
      for (const leaseMs of BAD_LEASES) {
        await expect(store.update(intent.scope, intent.id, 1, { owner: 'owner-1', leaseMs: leaseMs as number }), String(leaseMs)).rejects.toThrow(/refuses leaseMs/);
        await expect(store.claim(claimRequest({ leaseMs: leaseMs as number })), String(leaseMs)).rejects.toThrow(/refuses leaseMs/);
      }
      await expect(store.claim(claimRequest({ unchangedBefore: LATEST_INSTANT + 1 }))).rejects.toThrow(/refuses unchangedBefore/);
      expect(await store.get(intent.scope, intent.id)).toMatchObject({ version: 1, owner: null, leaseUntil: 0 });
      const refused = [
        makeIntent({ expiresAt: 1_000 + 1e13, createdAt: 1_000 }),
        makeIntent({ createdAt: Number.NaN }),
        makeIntent({ leaseUntil: 1e16 }),
        makeIntent({ owner: 'owner-1', createdAt: 1_000, leaseUntil: 1_000 + LONGEST_SPAN_MS + 1 }),
        makeIntent({ createdAt: 1e15, expiresAt: 0 }),
      ];
      for (const record of refused) await expect(store.create(record)).rejects.toThrow(/refuses/);
      for (const record of refused) await expect(store.get(record.scope, record.id)).resolves.toBeUndefined();
      // The longest a store keeps is kept.
      await expect(store.update(intent.scope, intent.id, 1, { owner: null, leaseMs: LONGEST_SPAN_MS })).resolves.toBe(2);
      expect((await store.list()).map((summary) => summary.id)).toEqual([intent.id]);
    }));

    const plant = options.plantDamaged;
    if (plant) {
      it('passes over a record with an absurd time in list and claim, telling list of it once, and never takes or compacts it', withStore(async (store) => {
        const planted = ABSURD.map(({ field, value }) => ({ field, value, intent: makeIntent({ state: field === 'createdAt' ? 'succeeded' : 'pending', expiresAt: 0, createdAt: 1 }) }));
        for (const { intent, field, value } of planted) await plant(store, intent, field, value);
        // Journaled after them: the damaged records come first in the order of creation.
        const good = makeIntent();
        await store.create(good);
        const told: DamagedRecord[] = [];
        expect((await store.list({ onDamaged: (record) => told.push(record) })).map((summary) => summary.id)).toEqual([good.id]);
        expect(told).toHaveLength(planted.length);
        for (const { intent, field } of planted) {
          expect(told).toContainEqual(expect.objectContaining({ scope: intent.scope, id: intent.id, reason: expect.stringContaining(field) }));
        }
        // A listener that throws changes nothing.
        await expect(store.list({ scope: good.scope, onDamaged: () => { throw new Error('listener'); } })).resolves.toHaveLength(1);
        // A claim of one takes the good one: the damaged ones hold no place in its limit.
        expect((await store.claim(claimRequest({ limit: 1 }))).map((intent) => intent.id)).toEqual([good.id]);
        await expect(store.claim(claimRequest({ states: ['pending', 'succeeded'] }))).resolves.toEqual([]);
        await expect(store.compact()).resolves.toBe(0);
        for (const { intent } of planted) await expect(store.get(intent.scope, intent.id)).rejects.toThrow(/is damaged/);
        // Nothing of them was changed: list tells of each again.
        const again: DamagedRecord[] = [];
        await store.list({ onDamaged: (record) => again.push(record) });
        expect(again.map((record) => record.id).sort()).toEqual(planted.map(({ intent }) => intent.id).sort());
      }));

      it('lets a new intent be journaled beside a damaged one, and refuses the damaged one’s key with an error that names it', withStore(async (store) => {
        const damaged = makeIntent();
        await plant(store, damaged, 'leaseUntil', 1e16);
        await expect(store.create({ ...damaged, state: 'pending' })).rejects.toThrow(/is damaged: its leaseUntil is out of range/);
        const fresh = makeIntent();
        await expect(store.create(fresh)).resolves.toBeUndefined();
        expect((await store.list()).map((summary) => summary.id)).toEqual([fresh.id]);
      }));
    }
  });
}
