import { describe, expect, it } from 'vitest';
import { makeIntent } from '../intents.js';
import type { SuiteContext } from './context.js';

/** compact: settled intents past expiresAt go; unknown outcomes stay, however old. */
export function describeCompaction({ withStore }: SuiteContext): void {
  describe('compaction', () => {
    const now = 1_800_000_000_000;

    it('deletes settled intents whose expiresAt has come, and counts them', withStore(async (store) => {
      const gone = [makeIntent({ state: 'succeeded', expiresAt: now - 1 }), makeIntent({ state: 'failed', expiresAt: now })];
      const kept = makeIntent({ state: 'succeeded', expiresAt: now + 1 });
      for (const intent of [...gone, kept]) await store.create(intent);
      await expect(store.compact(now)).resolves.toBe(2);
      for (const intent of gone) await expect(store.get(intent.scope, intent.id)).resolves.toBeUndefined();
      await expect(store.get(kept.scope, kept.id)).resolves.toEqual(kept);
    }));

    it('never deletes a pending or expired intent, however old', withStore(async (store) => {
      const unsettled = [makeIntent({ state: 'pending', expiresAt: 0 }), makeIntent({ state: 'expired', expiresAt: 0 })];
      for (const intent of unsettled) await store.create(intent);
      await expect(store.compact(now)).resolves.toBe(0);
      for (const intent of unsettled) await expect(store.get(intent.scope, intent.id)).resolves.toEqual(intent);
    }));
  });
}
