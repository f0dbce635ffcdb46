import { describe, expect, it } from 'vitest';
import { seededShuffle } from '../bytes.js';
import { claimRequest, claimUntilEmpty } from '../claims.js';
import { makeIntent, makeIntents } from '../intents.js';
import type { SuiteContext } from './context.js';

/** claim: atomic, each intent to one claimant, only ended leases, filters, limit, oldest first. */
export function describeClaims({ withStore }: SuiteContext): void {
  describe('claims', () => {
    it('makes the claimant owner until its lease ends, bumps the version, and hands over payloads', withStore(async (store) => {
      const intent = makeIntent();
      await store.create(intent);
      const request = claimRequest({ owner: 'recoverer', leaseUntil: 1_800_000_090_000 });
      const owned = { ...intent, owner: 'recoverer', leaseUntil: 1_800_000_090_000, version: 2 };
      await expect(store.claim(request)).resolves.toEqual([owned]);
      await expect(store.get(intent.scope, intent.id)).resolves.toEqual(owned);
    }));

    it('gives each of 50 intents to exactly one of 8 racing claimants', withStore(async (store) => {
      const intents = makeIntents(50);
      await Promise.all(intents.map((intent) => store.create(intent)));
      const claimants = Array.from({ length: 8 }, (_, i) => claimUntilEmpty(store, claimRequest({ owner: `claimant-${i}`, limit: 3 })));
      const claimed = (await Promise.all(claimants)).flat();
      expect([...claimed].sort()).toEqual(intents.map((intent) => intent.id).sort());
    }));

    it('leaves intents whose lease has not ended, and takes one that ends now', withStore(async (store) => {
      const { now } = claimRequest();
      const held = makeIntent({ owner: 'other', leaseUntil: now + 1 });
      const ending = makeIntent({ owner: 'other', leaseUntil: now });
      await store.create(held);
      await store.create(ending);
      expect((await store.claim(claimRequest())).map((intent) => intent.id)).toEqual([ending.id]);
      await expect(store.claim(claimRequest({ owner: 'late' }))).resolves.toEqual([]);
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

    it('takes at most `limit`, oldest createdAt first', withStore(async (store) => {
      const intents = makeIntents(6);
      for (const intent of seededShuffle(intents, 7)) await store.create(intent);
      const claimed = await store.claim(claimRequest({ limit: 4 }));
      expect(claimed.map((intent) => intent.id)).toEqual(intents.slice(0, 4).map((intent) => intent.id));
      await expect(store.claim(claimRequest({ limit: 0 }))).resolves.toEqual([]);
    }));
  });
}
