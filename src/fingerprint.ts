/** SHA-256 as lower-case hex. Node passes a synchronous one: Web Crypto's async digest costs more than the hashing. */
export type Sha256 = (data: Uint8Array) => string | Promise<string>;

export const webCryptoSha256: Sha256 = async (data) =>
  Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>)), (byte) => byte.toString(16).padStart(2, '0')).join('');

const encoder = new TextEncoder();

/** SHA-256 (hex) of method, path with query, and body bytes: what "the same request" means. */
export async function fingerprint(method: string, url: URL, body: Uint8Array | undefined, sha256: Sha256): Promise<string> {
  const head = encoder.encode(`${method}\n${url.pathname}${url.search}\n`);
  const data = new Uint8Array(head.length + (body?.length ?? 0));
  data.set(head);
  if (body) data.set(body, head.length);
  return sha256(data);
}
