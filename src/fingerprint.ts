/** SHA-256 as lower-case hex. Node passes a synchronous one: Web Crypto's async digest costs more than the hashing. */
export type Sha256 = (data: Uint8Array) => string | Promise<string>;

export const webCryptoSha256: Sha256 = async (data) =>
  Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>)), (byte) => byte.toString(16).padStart(2, '0')).join('');

const encoder = new TextEncoder();

/** SHA-256 (hex) of method, path with query, and body bytes: what "the same request" means. */
export async function fingerprint(method: string, url: URL, body: Uint8Array | undefined, sha256: Sha256): Promise<string> {
  const head = `${method}\n${url.pathname}${url.search}\n`;
  const bodyLength = body?.length ?? 0;
  // One buffer for both, the head encoded straight into it: UTF-8 takes at most 3 bytes per UTF-16 unit.
  const data = new Uint8Array(head.length * 3 + bodyLength);
  const { written } = encoder.encodeInto(head, data);
  if (body) data.set(body, written);
  return sha256(data.subarray(0, written + bodyLength));
}

/**
 * A request's fingerprint from its buffered body: a FormData's entries when it has them (its
 * multipart boundary is random), else its bytes. The one rule, for a call (`prepareCall`) and for
 * an intent read back from the journal (`integrity.ts`).
 */
export function requestFingerprint(method: string, url: URL, body: { bytes: Uint8Array | undefined; fingerprintBytes?: Uint8Array | undefined }, sha256: Sha256): Promise<string> {
  return fingerprint(method, url, body.fingerprintBytes ?? body.bytes, sha256);
}
