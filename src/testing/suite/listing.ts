import { describe, expect, it } from 'vitest';
import { seededShuffle } from '../bytes.js';
import type { Intent } from '../../stores/store.js';
import { makeIntent, makeIntents, timeless } from '../intents.js';
import type { SuiteContext } from './context.js';

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const ids = (records: { id: string }[]) => records.map((record) => record.id);

/**
 * `count` intents to create one after another, every third in tenant-b: their ids sort in the
 * reverse of their order, so a store that breaks ties of createdAt by id (or by scope) misorders them.
 */
export function tiedIntents(count: number): Intent[] {
  return Array.from({ length: count }, (_, i) =>
    makeIntent({ id: `tie-${String(count - i).padStart(4, '0')}`, scope: i % 3 === 2 ? 'tenant-b' : 'tenant-a' }),
  );
}

/** list: summaries without payloads, oldest first, by scope and states. */
export function describeListing({ withStore }: SuiteContext): void {
  describe('listing', () => {
    it('lists summaries without body, answer or headers, oldest createdAt first', withStore(async (store) => {
      const intents = seededShuffle(makeIntents(5, { response: { status: 200, statusText: 'OK', headers: {}, body: new Uint8Array([1]) } }), 3);
      for (const intent of intents) await store.create(intent);
      const listed = await store.list();
      const stored = await Promise.all(intents.map((intent) => store.get(intent.scope, intent.id)));
      const oldestFirst = stored.map((intent) => intent!).sort((a, b) => a.createdAt - b.createdAt);
      expect(listed.map((summary) => summary.createdAt)).toEqual(oldestFirst.map((intent) => intent.createdAt));
      expect(listed.map(timeless).sort(byId)).toEqual(intents.map(({ body: _body, response: _response, headers: _headers, ...summary }) => timeless(summary)).sort(byId));
      for (const summary of listed) expect(Object.keys(summary)).not.toContain('body');
    }));

    it('lists intents created within one instant in the order they were created, across scopes too', withStore(async (store) => {
      // Created one after another, many share the store clock's millisecond. Their ids sort against
      // the order of creation, so a tie broken by id (or by scope) shows.
      const created = tiedIntents(120);
      for (const intent of created) await store.create(intent);
      expect(ids(await store.list())).toEqual(ids(created));
      for (const scope of ['tenant-a', 'tenant-b']) {
        expect(ids(await store.list({ scope }))).toEqual(ids(created.filter((intent) => intent.scope === scope)));
      }
      expect(ids(await store.list({ states: ['pending'] }))).toEqual(ids(created));
    }));

    it('lists one scope, and only the states asked for', withStore(async (store) => {
      const pending = makeIntent();
      const succeeded = makeIntent({ state: 'succeeded' });
      const expired = makeIntent({ state: 'expired' });
      const elsewhere = makeIntent({ scope: 'tenant-b' });
      for (const intent of [pending, succeeded, expired, elsewhere]) await store.create(intent);
      const ids = (summaries: { id: string }[]) => summaries.map((summary) => summary.id).sort();
      expect(ids(await store.list({ scope: 'tenant-a' }))).toEqual(ids([pending, succeeded, expired]));
      expect(ids(await store.list({ scope: 'tenant-a', states: ['pending', 'expired'] }))).toEqual(ids([pending, expired]));
      expect(ids(await store.list({ states: ['pending'] }))).toEqual(ids([pending, elsewhere]));
      await expect(store.list({ scope: 'tenant-c' })).resolves.toEqual([]);
    }));
  });
}
