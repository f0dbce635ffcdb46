import { describe, expect, it } from 'vitest';
import { makeIntent, makeIntents, timeless } from '../intents.js';
import type { SuiteContext } from './context.js';

/** create and get: one record per scope and id, stored at version 1, handed out as copies. */
export function describeRecords({ withStore }: SuiteContext): void {
  describe('records', () => {
    it('stores a new intent at version 1 and gets it back as given, its times on the store clock', withStore(async (store) => {
      const intent = makeIntent({ version: 7 });
      await expect(store.create(intent)).resolves.toBeUndefined();
      await expect(store.get(intent.scope, intent.id).then((got) => got && timeless(got))).resolves.toEqual(timeless({ ...intent, version: 1 }));
    }));

    it('answers a second create of the same scope and id with the existing intent, untouched', withStore(async (store) => {
      const first = makeIntent();
      const second = { ...makeIntent(), id: first.id, state: 'succeeded' as const };
      await store.create(first);
      const stored = await store.get(first.scope, first.id);
      await expect(store.create(second)).resolves.toEqual(stored);
      await expect(store.get(first.scope, first.id)).resolves.toEqual(stored);
    }));

    it('lets exactly one of 20 racing creates of one id win, and keeps the winner', withStore(async (store) => {
      const id = makeIntent().id;
      const racers = makeIntents(20).map((intent) => ({ ...intent, id }));
      const results = await Promise.all(racers.map((intent) => store.create(intent)));
      const winners = racers.filter((_, i) => results[i] === undefined);
      expect(winners).toHaveLength(1);
      const stored = await store.get('tenant-a', id);
      expect(timeless(stored!)).toEqual(timeless(winners[0]!));
      for (const existing of results.filter((result) => result !== undefined)) expect(existing).toEqual(stored);
    }));

    it('keeps scopes apart', withStore(async (store) => {
      const a = makeIntent({ scope: 'tenant-a' });
      const b = { ...makeIntent({ scope: 'tenant-b' }), id: a.id };
      await expect(store.create(a)).resolves.toBeUndefined();
      await expect(store.create(b)).resolves.toBeUndefined();
      await expect(store.get('tenant-a', a.id).then((got) => got && timeless(got))).resolves.toEqual(timeless(a));
      await expect(store.get('tenant-b', a.id).then((got) => got && timeless(got))).resolves.toEqual(timeless(b));
      await expect(store.get('tenant-c', a.id)).resolves.toBeUndefined();
    }));

    it('hands out copies: changing a given or returned record changes nothing stored', withStore(async (store) => {
      const intent = makeIntent();
      await store.create(intent);
      const kept = await store.get(intent.scope, intent.id);
      intent.body![0] = 0xff;
      intent.headers['x-changed'] = 'given';
      const got = (await store.get(intent.scope, intent.id))!;
      got.body![1] = 0xff;
      got.headers['x-changed'] = 'returned';
      got.state = 'failed';
      await expect(store.get(intent.scope, intent.id)).resolves.toEqual(kept);
    }));
  });
}
