import { describe, expect, it } from 'vitest';
import { seededShuffle } from '../bytes.js';
import { makeIntent, makeIntents } from '../intents.js';
import type { SuiteContext } from './context.js';

/** list: summaries without payloads, oldest first, by scope and states. */
export function describeListing({ withStore }: SuiteContext): void {
  describe('listing', () => {
    it('lists summaries without body, answer or headers, oldest createdAt first', withStore(async (store) => {
      const intents = makeIntents(5, { response: { status: 200, statusText: 'OK', headers: {}, body: new Uint8Array([1]) } });
      for (const intent of seededShuffle(intents, 3)) await store.create(intent);
      const listed = await store.list();
      expect(listed).toEqual(intents.map(({ body: _body, response: _response, headers: _headers, ...summary }) => summary));
      for (const summary of listed) expect(Object.keys(summary)).not.toContain('body');
    }));

    it('lists one scope, and only the states asked for', withStore(async (store) => {
      const pending = makeIntent();
      const succeeded = makeIntent({ state: 'succeeded' });
      const expired = makeIntent({ state: 'expired' });
      const elsewhere = makeIntent({ scope: 'tenant-b' });
      for (const intent of [pending, succeeded, expired, elsewhere]) await store.create(intent);
      const ids = (summaries: { id: string }[]) => summaries.map((summary) => summary.id);
      expect(ids(await store.list({ scope: 'tenant-a' }))).toEqual([pending.id, succeeded.id, expired.id]);
      expect(ids(await store.list({ scope: 'tenant-a', states: ['pending', 'expired'] }))).toEqual([pending.id, expired.id]);
      expect(ids(await store.list({ states: ['pending'] }))).toEqual([pending.id, elsewhere.id]);
      await expect(store.list({ scope: 'tenant-c' })).resolves.toEqual([]);
    }));
  });
}
