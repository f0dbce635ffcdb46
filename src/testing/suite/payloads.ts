import { describe, expect, it } from 'vitest';
import { everyByteValue, sameBytes, seededBytes } from '../bytes.js';
import { claimRequest } from '../claims.js';
import { makeIntent, timeless } from '../intents.js';
import type { SuiteContext } from './context.js';

/** Bodies and answers come back byte for byte, whatever their bytes and size. */
export function describePayloads({ withStore, options }: SuiteContext): void {
  describe('payloads', () => {
    it('keeps a body and an answer of every byte value exactly', withStore(async (store) => {
      const response = { status: 201, statusText: 'Created', headers: { 'content-type': 'application/octet-stream' }, body: everyByteValue(3) };
      const intent = makeIntent({ body: everyByteValue(4), state: 'succeeded', response });
      await store.create(intent);
      const got = await store.get(intent.scope, intent.id);
      expect(got?.body).toBeInstanceOf(Uint8Array);
      expect(timeless(got!)).toEqual(timeless(intent));
    }));

    it('keeps an absent body absent and an empty body empty', withStore(async (store) => {
      const absent = makeIntent({ body: undefined });
      const empty = makeIntent({ body: new Uint8Array() });
      await store.create(absent);
      await store.create(empty);
      expect((await store.get(absent.scope, absent.id))?.body).toBeUndefined();
      expect((await store.get(empty.scope, empty.id))?.body).toEqual(new Uint8Array());
    }));

    it('keeps a traceparent through updates and claims, and out of listings; none stays absent', withStore(async (store) => {
      const traced = makeIntent({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
      const untraced = makeIntent();
      await store.create(traced);
      await store.create(untraced);
      await expect(store.update(traced.scope, traced.id, 1, { attempts: 1 })).resolves.toBe(2);
      const claimed = await store.claim(claimRequest());
      expect(claimed.map((intent) => [intent.id, intent.traceparent])).toEqual([[traced.id, traced.traceparent], [untraced.id, undefined]]);
      expect(Object.keys(claimed[1]!)).not.toContain('traceparent');
      expect((await store.get(traced.scope, traced.id))?.traceparent).toBe(traced.traceparent);
      for (const summary of await store.list()) expect(Object.keys(summary)).not.toContain('traceparent');
    }));

    it('round-trips a big body and a big answer', withStore(async (store) => {
      const size = options.bigBodyBytes ?? 32 * 1024 * 1024;
      const body = seededBytes(size, 1);
      const answer = seededBytes(size, 2);
      const intent = makeIntent({ body });
      await store.create(intent);
      const change = { state: 'succeeded' as const, response: { status: 200, statusText: 'OK', headers: {}, body: answer } };
      await expect(store.update(intent.scope, intent.id, 1, change)).resolves.toBe(2);
      const got = await store.get(intent.scope, intent.id);
      expect(sameBytes(got!.body!, body)).toBe(true);
      expect(sameBytes(got!.response!.body, answer)).toBe(true);
      // Tens of MiB each way: a store may take its time, more so on a busy machine.
    }), 60_000);
  });
}
