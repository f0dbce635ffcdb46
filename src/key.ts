import { v4 as uuidv4 } from 'uuid';
import { IdempotencyKeyInvalidError } from './errors.js';
import type { KeyFormat } from './stores/store.js';

export type { KeyFormat } from './stores/store.js';

export function generateKey(): string {
  return uuidv4();
}

/**
 * 1..maxKeyLength printable ASCII characters, and no space at either end: fetch trims header
 * values, so such a key would reach the server as a different key than the one journaled.
 */
export function validateKey(key: unknown, maxKeyLength: number): asserts key is string {
  const problem =
    typeof key !== 'string' ? 'not a string'
    : key === '' ? 'empty'
    : key.length > maxKeyLength ? `longer than maxKeyLength (${key.length} > ${maxKeyLength})`
    : !/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(key) ? 'not printable ASCII, or padded with spaces'
    : undefined;
  if (problem !== undefined) {
    throw new IdempotencyKeyInvalidError(`Invalid idempotency key: ${problem}.`, {
      idempotencyKey: String(key),
    });
  }
}

/** The header value: a bare token, or an RFC 8941 sf-string as the IETF draft writes it. */
export function formatKey(key: string, format: KeyFormat): string {
  return format === 'sf-string' ? `"${key.replace(/[\\"]/g, '\\$&')}"` : key;
}
