import { describe, expect, it } from 'vitest';
import { claimRequest } from '../claims.js';
import { makeIntent } from '../intents.js';
import type { SuiteContext } from './context.js';

/** An hour's lease, counted from createdAt (which the store sets): far from over in any test. */
const HELD = { createdAt: 1_000, leaseUntil: 1_000 + 60 * 60 * 1000 };

/**
 * Liveness: a store that can see owners die (`enlist`) lets a claimant take a dead owner's intent
 * at once, lease or no lease, and never a live owner's. A store that cannot leaves both to the lease.
 */
export function describeLiveness({ withStore, options }: SuiteContext): void {
  describe('liveness', () => {
    it("takes a dead owner's intent at once, and leaves a live owner's until its lease ends", withStore(async (store) => {
      if (store.enlist === undefined) {
        // No liveness: an owner that may be dead is waited out.
        const held = makeIntent({ owner: 'gone-or-not', ...HELD });
        await store.create(held);
        await expect(store.claim(claimRequest())).resolves.toEqual([]);
        return;
      }
      const live = await store.enlist();
      try {
        const dead = options.deadOwner ? await options.deadOwner(store) : await releasedOwner(store);
        const ofLive = makeIntent({ owner: live.owner, ...HELD });
        const ofDead = makeIntent({ owner: dead, ...HELD });
        const ofStranger = makeIntent({ owner: 'never-enlisted', ...HELD });
        for (const intent of [ofLive, ofDead, ofStranger]) await store.create(intent);
        const claimed = await store.claim(claimRequest());
        expect(claimed.map((intent) => intent.id)).toEqual([ofDead.id]);
        expect(claimed[0]!.owner).toBe('claimant-1');
        await expect(store.claim(claimRequest({ owner: 'late', id: ofLive.id }))).resolves.toEqual([]);
      } finally {
        await live.release();
      }
    }));

    it("takes a dead owner's intent when claimed by id", withStore(async (store) => {
      const owner = store.enlist === undefined ? 'gone-or-not' : options.deadOwner ? await options.deadOwner(store) : await releasedOwner(store);
      const intent = makeIntent({ owner, ...HELD });
      await store.create(intent);
      const claimed = await store.claim(claimRequest({ id: intent.id }));
      expect(claimed.map((taken) => taken.id)).toEqual(store.enlist === undefined ? [] : [intent.id]);
    }));

    it('gives each enlistment an owner id of its own', withStore(async (store) => {
      if (store.enlist === undefined) return expect(store.enlist).toBeUndefined();
      const enlisted = await Promise.all([store.enlist(), store.enlist(), store.enlist()]);
      try {
        expect(new Set(enlisted.map((enlistment) => enlistment.owner)).size).toBe(3);
      } finally {
        await Promise.all(enlisted.map((enlistment) => enlistment.release()));
      }
    }));
  });
}

/** An owner enlisted, then released: gone, as its client closed. */
async function releasedOwner(store: { enlist?: () => Promise<{ owner: string; release(): Promise<void> }> }): Promise<string> {
  const enlisted = await store.enlist!();
  await enlisted.release();
  return enlisted.owner;
}
