import type { Intent } from '../store.js';

/**
 * Header names that may carry a credential. The client never hands these to a store; dropping them
 * here again means a bug or a custom caller still cannot leave a secret in a file that outlives
 * the process (and its backups).
 */
const CREDENTIAL = /authorization|cookie|token|secret|api-?key|api_key|password|credential/i;

export const isCredentialHeader = (name: string) => CREDENTIAL.test(name);

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
