import { describe, expect, it } from 'vitest';
import { seededShuffle } from '../bytes.js';
import { claimRequest, claimUntilEmpty } from '../claims.js';
import { makeIntent, makeIntents, timeless } from '../intents.js';
import type { SuiteContext } from './context.js';
import { tiedIntents } from './listing.js';

/** claim: atomic, each intent to one claimant, only ended leases, filters, limit, oldest first. */
export function describeClaims({ withStore }: SuiteContext): void {
  describe('claims', () => {
    it('makes the claimant owner for its lease on the store clock, bumps the version, and hands over payloads', withStore(async (store) => {
      const intent = makeIntent();
      await store.create(intent);
      const [claimed, ...more] = await store.claim(claimRequest({ owner: 'recoverer', leaseMs: 90_000 }));
      expect(more).toEqual([]);
      expect(timeless(claimed!)).toEqual(timeless({ ...intent, owner: 'recoverer', version: 2 }));
      expect(claimed!.leaseUntil - claimed!.updatedAt).toBe(90_000);
      await expect(store.get(intent.scope, intent.id)).resolves.toEqual(claimed);
    }));

    it('gives each of 50 intents to exactly one of 8 racing claimants', withStore(async (store) => {
      const intents = makeIntents(50);
      await Promise.all(intents.map((intent) => store.create(intent)));
      const claimants = Array.from({ length: 8 }, (_, i) => claimUntilEmpty(store, claimRequest({ owner: `claimant-${i}`, limit: 3 })));
      const claimed = (await Promise.all(claimants)).flat();
      expect([...claimed].sort()).toEqual(intents.map((intent) => intent.id).sort());
    }));

    it('leaves an intent whose lease has not ended on the store clock, and takes one whose lease has', withStore(async (store) => {
      // Leases count from createdAt, which the store sets: one for a minute, one already over.
      const held = makeIntent({ owner: 'other', createdAt: 1_000, leaseUntil: 61_000 });
      const ended = makeIntent({ owner: 'other', createdAt: 1_000, leaseUntil: 1_000 });
      await store.create(held);
      await store.create(ended);
      expect((await store.claim(claimRequest())).map((intent) => intent.id)).toEqual([ended.id]);
      await expect(store.claim(claimRequest({ owner: 'late' }))).resolves.toEqual([]);
    }));

    it('takes an intent released with a lease of 0 at once, and none that is parked', withStore(async (store) => {
      const released = makeIntent();
      const parked = makeIntent();
      for (const intent of [released, parked]) await store.create(intent);
      const owned = await store.claim(claimRequest({ owner: 'first' }));
      expect(owned).toHaveLength(2);
      await store.update(released.scope, released.id, owned.find((intent) => intent.id === released.id)!.version, { owner: null, leaseMs: 0 });
      await store.update(parked.scope, parked.id, owned.find((intent) => intent.id === parked.id)!.version, { owner: null, leaseMs: 60_000 });
      expect((await store.claim(claimRequest({ owner: 'second' }))).map((intent) => intent.id)).toEqual([released.id]);
      const stored = await store.get(parked.scope, parked.id);
      expect(stored).toMatchObject({ owner: null });
      expect(stored!.leaseUntil - stored!.updatedAt).toBe(60_000);
    }));

    it('takes only the requested scope, origins and states', withStore(async (store) => {
      const pending = makeIntent();
      const expired = makeIntent({ state: 'expired' });
      const others = [
        makeIntent({ scope: 'tenant-b' }),
        makeIntent({ origin: 'https://elsewhere.test' }),
        makeIntent({ state: 'succeeded' }),
        makeIntent({ state: 'failed' }),
      ];
      for (const intent of [pending, expired, ...others]) await store.create(intent);
      expect((await store.claim(claimRequest({ states: ['pending'] }))).map((intent) => intent.id)).toEqual([pending.id]);
      expect((await store.claim(claimRequest({ states: ['pending', 'expired'] }))).map((intent) => intent.id)).toEqual([expired.id]);
      await expect(store.claim(claimRequest({ states: ['pending', 'expired', 'succeeded', 'failed'], origins: [] }))).resolves.toEqual([]);
    }));

    it('takes only the intent asked for by id', withStore(async (store) => {
      const [first, second] = makeIntents(2);
      for (const intent of [first!, second!]) await store.create(intent);
      expect((await store.claim(claimRequest({ id: second!.id }))).map((intent) => intent.id)).toEqual([second!.id]);
      await expect(store.claim(claimRequest({ id: second!.id, owner: 'late' }))).resolves.toEqual([]);
      await expect(store.claim(claimRequest({ id: 'no such intent' }))).resolves.toEqual([]);
    }));

    it('takes only intents last written before `unchangedBefore`', withStore(async (store) => {
      const [untouched, rewritten] = makeIntents(2);
      for (const intent of [untouched!, rewritten!]) await store.create(intent);
      const writtenFirst = (await store.get(untouched!.scope, untouched!.id))!.updatedAt;
      const [first] = await store.claim(claimRequest({ id: rewritten!.id, owner: 'first' }));
      await store.update(first!.scope, first!.id, first!.version, { owner: null, leaseMs: 0 });
      const rewrittenAt = (await store.get(rewritten!.scope, rewritten!.id))!.updatedAt;
      const before = await store.claim(claimRequest({ unchangedBefore: rewrittenAt }));
      expect(before.map((intent) => intent.id)).toEqual(writtenFirst < rewrittenAt ? [untouched!.id] : []);
      const after = await store.claim(claimRequest({ owner: 'later', unchangedBefore: rewrittenAt + 1 }));
      expect(after.map((intent) => intent.id)).toContain(rewritten!.id);
    }));

    it('never takes an id in `excluding`', withStore(async (store) => {
      const [left, taken] = makeIntents(2);
      for (const intent of [left!, taken!]) await store.create(intent);
      expect((await store.claim(claimRequest({ excluding: [left!.id] }))).map((intent) => intent.id)).toEqual([taken!.id]);
    }));

    it('takes at most `limit`, oldest createdAt first', withStore(async (store) => {
      const intents = makeIntents(6);
      for (const intent of seededShuffle(intents, 7)) await store.create(intent);
      const claimed = await store.claim(claimRequest({ limit: 4 }));
      expect(claimed).toHaveLength(4);
      const left = await store.list({ states: ['pending'] });
      const unclaimed = left.filter((summary) => summary.owner === null);
      expect(unclaimed).toHaveLength(2);
      const newestClaimed = Math.max(...claimed.map((intent) => intent.createdAt));
      for (const summary of unclaimed) expect(summary.createdAt).toBeGreaterThanOrEqual(newestClaimed);
      await expect(store.claim(claimRequest({ limit: 0 }))).resolves.toEqual([]);
    }));

    it('takes intents created within one instant in the order they were created', withStore(async (store) => {
      const created = tiedIntents(120).filter((intent) => intent.scope === 'tenant-a');
      for (const intent of created) await store.create(intent);
      const first = await store.claim(claimRequest({ limit: 30 }));
      const rest = await store.claim(claimRequest({ owner: 'claimant-2' }));
      expect([...first, ...rest].map((intent) => intent.id)).toEqual(created.map((intent) => intent.id));
    }));
  });
}
