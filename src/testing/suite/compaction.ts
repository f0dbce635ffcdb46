import { describe, expect, it } from 'vitest';
import { makeIntent, timeless } from '../intents.js';
import type { SuiteContext } from './context.js';

/** compact: settled intents past expiresAt (on the store clock) go; unknown outcomes stay, however old. */
export function describeCompaction({ withStore }: SuiteContext): void {
  describe('compaction', () => {
    // The TTL counts from createdAt, which the store sets: 0 or less is over at once, a day is not.
    const ttl = (ms: number) => ({ createdAt: 1_000, expiresAt: 1_000 + ms });

    it('deletes settled intents whose expiresAt has come on the store clock, and counts them', withStore(async (store) => {
      const gone = [makeIntent({ state: 'succeeded', ...ttl(-1) }), makeIntent({ state: 'failed', ...ttl(0) })];
      const kept = makeIntent({ state: 'succeeded', ...ttl(24 * 60 * 60 * 1000) });
      for (const intent of [...gone, kept]) await store.create(intent);
      await expect(store.compact()).resolves.toBe(2);
      for (const intent of gone) await expect(store.get(intent.scope, intent.id)).resolves.toBeUndefined();
      await expect(store.get(kept.scope, kept.id).then((got) => got && timeless(got))).resolves.toEqual(timeless(kept));
    }));

    it('never deletes a pending or expired intent, however old', withStore(async (store) => {
      const unsettled = [makeIntent({ state: 'pending', ...ttl(-1e9) }), makeIntent({ state: 'expired', ...ttl(-1e9) })];
      for (const intent of unsettled) await store.create(intent);
      await expect(store.compact()).resolves.toBe(0);
      for (const intent of unsettled) await expect(store.get(intent.scope, intent.id).then((got) => got && timeless(got))).resolves.toEqual(timeless(intent));
    }));
  });
}
