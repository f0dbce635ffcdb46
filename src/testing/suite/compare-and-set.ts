import { describe, expect, it } from 'vitest';
import { everyByteValue } from '../bytes.js';
import { makeIntent, timeless } from '../intents.js';
import type { SuiteContext } from './context.js';

/** update: applied only at the stored version, which it bumps; a stale writer writes nothing. */
export function describeCompareAndSet({ withStore }: SuiteContext): void {
  describe('compare-and-set', () => {
    it('applies a change at the current version and bumps the version', withStore(async (store) => {
      const intent = makeIntent();
      await store.create(intent);
      const response = { status: 200, statusText: 'OK', headers: { 'content-type': 'text/plain' }, body: everyByteValue() };
      const change = { state: 'succeeded' as const, attempts: 1, owner: 'client-1', response };
      await expect(store.update(intent.scope, intent.id, 1, change)).resolves.toBe(2);
      await expect(store.get(intent.scope, intent.id).then((got) => got && timeless(got))).resolves.toEqual(timeless({ ...intent, ...change, version: 2 }));
    }));

    it('refuses a stale version and writes nothing', withStore(async (store) => {
      const intent = makeIntent();
      await store.create(intent);
      await store.update(intent.scope, intent.id, 1, { attempts: 1 });
      await expect(store.update(intent.scope, intent.id, 1, { state: 'failed', attempts: 9 })).resolves.toBeUndefined();
      await expect(store.get(intent.scope, intent.id).then((got) => got && timeless(got))).resolves.toEqual(timeless({ ...intent, attempts: 1, version: 2 }));
    }));

    it('resolves undefined for an intent it does not hold', withStore(async (store) => {
      await expect(store.update('tenant-a', 'no such intent', 1, { attempts: 1 })).resolves.toBeUndefined();
    }));

    it('lets exactly one of 20 updates from one version win', withStore(async (store) => {
      const intent = makeIntent();
      await store.create(intent);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.update(intent.scope, intent.id, 1, { attempts: i + 1, owner: `writer-${i}` })),
      );
      const winner = results.findIndex((result) => result !== undefined);
      expect(results.filter((result) => result !== undefined)).toEqual([2]);
      await expect(store.get(intent.scope, intent.id)).resolves.toMatchObject({ attempts: winner + 1, owner: `writer-${winner}`, version: 2 });
    }));
  });
}
