import { describe, expect, it } from 'vitest';
import { everyByteValue, sameBytes, seededBytes } from '../bytes.js';
import { makeIntent } from '../intents.js';
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
      expect(got).toEqual(intent);
    }));

    it('keeps an absent body absent and an empty body empty', withStore(async (store) => {
      const absent = makeIntent({ body: undefined });
      const empty = makeIntent({ body: new Uint8Array() });
      await store.create(absent);
      await store.create(empty);
      expect((await store.get(absent.scope, absent.id))?.body).toBeUndefined();
      expect((await store.get(empty.scope, empty.id))?.body).toEqual(new Uint8Array());
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
    }));
  });
}
