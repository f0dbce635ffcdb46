import { describe, expect, it } from 'vitest';
import { claimRequest } from '../claims.js';
import { makeIntent } from '../intents.js';
import type { SuiteContext } from './context.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * Time is the store's: a writer's clock, however wrong, decides no instant. Every instant is the
 * store's now when the write landed, or a duration from it.
 */
export function describeClock({ withStore }: SuiteContext): void {
  describe('clock', () => {
    it('re-bases a created intent on the store clock, keeping its TTL and its lease', withStore(async (store) => {
      // Written by a client whose clock says 1970.
      const intent = makeIntent({ owner: 'owner-1', createdAt: 5, updatedAt: 5, expiresAt: 5 + DAY, leaseUntil: 5 + MINUTE });
      const before = Date.now();
      await store.create(intent);
      const stored = (await store.get(intent.scope, intent.id))!;
      // The store's clock is not the test's, but it reads a date of this century, not 1970.
      expect(Math.abs(stored.createdAt - before)).toBeLessThan(DAY);
      expect(stored.updatedAt).toBe(stored.createdAt);
      expect(stored.expiresAt - stored.createdAt).toBe(DAY);
      expect(stored.leaseUntil - stored.createdAt).toBe(MINUTE);
    }));

    it('keeps an unowned intent claimable whatever the writer thought the time was', withStore(async (store) => {
      const intent = makeIntent({ createdAt: 4_000_000_000_000, updatedAt: 4_000_000_000_000, expiresAt: 4_000_000_000_000 + DAY });
      await store.create(intent);
      expect((await store.get(intent.scope, intent.id))!.leaseUntil).toBe(0);
      expect((await store.claim(claimRequest())).map((claimed) => claimed.id)).toEqual([intent.id]);
    }));

    it('turns a lease given as a duration into an instant on the store clock, and stamps every write', withStore(async (store) => {
      const intent = makeIntent();
      await store.create(intent);
      const created = (await store.get(intent.scope, intent.id))!;
      await expect(store.update(intent.scope, intent.id, 1, { owner: 'owner-1', leaseMs: 45_000 })).resolves.toBe(2);
      const renewed = (await store.get(intent.scope, intent.id))!;
      expect(renewed.updatedAt).toBeGreaterThanOrEqual(created.updatedAt);
      expect(renewed.leaseUntil - renewed.updatedAt).toBe(45_000);
      await expect(store.update(intent.scope, intent.id, 2, { attempts: 3 })).resolves.toBe(3);
      const changed = (await store.get(intent.scope, intent.id))!;
      expect(changed.leaseUntil).toBe(renewed.leaseUntil);
      expect(changed.updatedAt).toBeGreaterThanOrEqual(renewed.updatedAt);
    }));

    it("shows on a claimed intent whether its key's TTL had passed when it was claimed", withStore(async (store) => {
      const fresh = makeIntent();
      const stale = makeIntent({ createdAt: 1_000, expiresAt: 999 });
      for (const intent of [fresh, stale]) await store.create(intent);
      const claimed = await store.claim(claimRequest());
      const byId = new Map(claimed.map((intent) => [intent.id, intent]));
      expect(byId.get(fresh.id)!.updatedAt).toBeLessThanOrEqual(byId.get(fresh.id)!.expiresAt);
      expect(byId.get(stale.id)!.updatedAt).toBeGreaterThan(byId.get(stale.id)!.expiresAt);
    }));
  });
}
