import type { Intent, IntentChange } from '../store.js';

/**
 * Refuses a record whose body or stored answer is larger than `maxBodyBytes`, before it is
 * copied to the worker or written: one clear Error rather than an out-of-memory crash.
 */
export function checkSizes(record: Pick<Intent, 'body'> | IntentChange, maxBodyBytes: number): void {
  const body = 'body' in record ? record.body : undefined;
  const answer = 'response' in record ? record.response?.body : undefined;
  checkSize('request body', body, maxBodyBytes);
  checkSize('stored answer body', answer, maxBodyBytes);
}

function checkSize(what: string, bytes: Uint8Array | undefined, maxBodyBytes: number): void {
  if (bytes && bytes.byteLength > maxBodyBytes) {
    throw new Error(
      `The ${what} is ${bytes.byteLength} bytes; the sqlite store keeps at most ${maxBodyBytes} (option maxBodyBytes).`,
    );
  }
}
