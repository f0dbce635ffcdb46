import { describe, expect, it } from 'vitest';
import { createClient, IdempotencyKeyInvalidError, memoryStore } from '../src/index.js';
import { recordingStore } from './support/stores.js';

describe('keys are validated before any I/O', () => {
  const invalid: Array<[string, string, number?]> = [
    ['empty', ''],
    ['longer than maxKeyLength', 'k'.repeat(256)],
    ['longer than a configured maxKeyLength (seed 003: 128)', 'k'.repeat(129), 128],
    ['non-ASCII', 'payout-€5'],
    ['a control character', 'payout\n1'],
    ['padded with spaces', ' payout-1 '],
  ];
  for (const [what, key, maxKeyLength] of invalid) {
    it(`refuses a key that is ${what}`, async () => {
      const events: string[] = [];
      let fetched = 0;
      const client = createClient({
        prefix: 'https://api.test',
        store: recordingStore(events),
        ...(maxKeyLength ? { maxKeyLength } : {}),
        fetch: async () => {
          fetched++;
          return new Response('{}', { status: 201 });
        },
      });
      const error = await client.post('v1/payouts', { json: {}, idempotencyKey: key }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(IdempotencyKeyInvalidError);
      expect((error as IdempotencyKeyInvalidError).idempotencyKey).toBe(key);
      expect(events).toEqual([]);
      expect(fetched).toBe(0);
    });
  }

  it('accepts 1..maxKeyLength printable ASCII characters', async () => {
    const client = createClient({
      prefix: 'https://api.test',
      store: memoryStore(),
      maxKeyLength: 128,
      fetch: async () => new Response('{}', { status: 201 }),
    });
    for (const key of ['k', 'k'.repeat(128), 'stripe-charge-ch_1 "quoted" \\ ~']) {
      expect((await client.post('v1/payouts', { json: {}, idempotencyKey: key })).idempotencyKey).toBe(key);
    }
  });
});
