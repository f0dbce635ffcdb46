import { isCredentialHeader } from '../../credentials.js';
import type { Intent } from '../store.js';

// The client never hands a store credential headers; dropping them here again means a bug or a
// custom caller still cannot leave a secret in a file.

function clean(headers: Record<string, string> | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  if (headers === undefined || headers === null || typeof headers !== 'object') return kept;
  for (const [name, value] of Object.entries(headers)) if (!isCredentialHeader(name)) kept[name] = value;
  return kept;
}

/** A copy of the intent fit to be written: no credential headers, in the request or the response. */
export function sanitizeIntent(intent: Intent): Intent {
  const copy: Intent = { ...intent, headers: clean(intent.headers) };
  if (intent.response !== undefined) copy.response = { ...intent.response, headers: clean(intent.response.headers) };
  return copy;
}
