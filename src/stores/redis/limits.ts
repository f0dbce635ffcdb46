import type { Intent, IntentChange } from '../store.js';

/**
 * Refuses a record whose body or stored answer is larger than `maxBodyBytes` before it is sent:
 * one clear Error rather than Redis closing the connection on an over-long value.
 */
export function checkSizes(record: Pick<Intent, 'body'> | IntentChange, maxBodyBytes: number): void {
  const sizes: [string, Uint8Array | undefined][] = [
    ['request body', 'body' in record ? record.body : undefined],
    ['stored answer body', 'response' in record ? record.response?.body : undefined],
  ];
  for (const [what, bytes] of sizes) {
    if (bytes && bytes.byteLength > maxBodyBytes) {
      throw new Error(`The ${what} is ${bytes.byteLength} bytes; the redis store keeps at most ${maxBodyBytes} (option maxBodyBytes).`);
    }
  }
}
