/**
 * Bodies are read once into bytes, so every attempt (and a recovery after a crash) sends exactly
 * what was journaled and fingerprinted.
 */
export interface BufferedBody {
  bytes: Uint8Array | undefined;
  /** The content-type the body implies (FormData boundary, URLSearchParams...), if any. */
  contentType: string | undefined;
}

export type BodyInput = BodyInit | null | undefined;

export async function bufferBody(body: BodyInput): Promise<BufferedBody> {
  if (body === undefined || body === null) return { bytes: undefined, contentType: undefined };
  // Strings (every `json` call) and bytes directly: the hot path, no Request to build.
  if (typeof body === 'string') return { bytes: new TextEncoder().encode(body), contentType: 'text/plain;charset=UTF-8' };
  if (body instanceof Uint8Array) return { bytes: body, contentType: undefined };
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
    throw new TypeError('A ReadableStream body cannot be replayed on retry or recovery: pass bytes, a string, a Blob or `json`.');
  }
  // The platform serialises the rest (Blob, FormData, URLSearchParams, ArrayBuffer) exactly as
  // fetch would, content-type included.
  const request = new Request('http://body.invalid/', { method: 'POST', body });
  return { bytes: new Uint8Array(await request.arrayBuffer()), contentType: request.headers.get('content-type') ?? undefined };
}

/** SHA-256 as lower-case hex. Node passes a synchronous one: Web Crypto's async digest costs more than the hashing. */
export type Sha256 = (data: Uint8Array) => string | Promise<string>;

export const webCryptoSha256: Sha256 = async (data) =>
  Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>)), (byte) => byte.toString(16).padStart(2, '0')).join('');

/** SHA-256 (hex) of method, path with query, and body bytes: what "the same request" means. */
export async function fingerprint(method: string, url: URL, body: Uint8Array | undefined, sha256: Sha256): Promise<string> {
  const head = new TextEncoder().encode(`${method}\n${url.pathname}${url.search}\n`);
  const data = new Uint8Array(head.length + (body?.length ?? 0));
  data.set(head);
  if (body) data.set(body, head.length);
  return sha256(data);
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // In slices: spreading a large array into one call would overflow the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}
