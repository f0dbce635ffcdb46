/**
 * Bodies are read once into private bytes, so every attempt (and a recovery after a crash) sends
 * exactly what was journaled and fingerprinted, whatever the caller does to its buffer later.
 */
export interface BufferedBody {
  bytes: Uint8Array | undefined;
  /** The content-type the body implies (FormData boundary, URLSearchParams...), if any. */
  contentType: string | undefined;
  /**
   * What the fingerprint hashes when it is not `bytes`: a FormData's multipart encoding carries a
   * random boundary, so "the same request" is judged on its entries instead.
   */
  fingerprintBytes?: Uint8Array;
}

export type BodyInput = BodyInit | null | undefined;

const encoder = new TextEncoder();

export async function bufferBody(body: BodyInput): Promise<BufferedBody> {
  if (body === undefined || body === null) return { bytes: undefined, contentType: undefined };
  // Strings (every `json` call) directly: the hot path, no Request to build.
  if (typeof body === 'string') return { bytes: encoder.encode(body), contentType: 'text/plain;charset=UTF-8' };
  if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice(), contentType: undefined };
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)), contentType: undefined };
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
    throw new TypeError('A ReadableStream body cannot be replayed on retry or recovery: pass bytes, a string, a Blob or `json`.');
  }
  // The platform serialises the rest (Blob, FormData, URLSearchParams) exactly as fetch would,
  // content-type included.
  const request = new Request('http://body.invalid/', { method: 'POST', body });
  const buffered: BufferedBody = {
    bytes: new Uint8Array(await request.arrayBuffer()),
    contentType: request.headers.get('content-type') ?? undefined,
  };
  if (typeof FormData !== 'undefined' && body instanceof FormData) buffered.fingerprintBytes = await formDataEntries(body);
  return buffered;
}

/** A FormData's entries in order, each part length-prefixed so no two different forms encode alike. */
export async function formDataEntries(form: FormData): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const [name, value] of form) {
    const fields = typeof value === 'string' ? ['text', name, value] : ['file', name, value.name, value.type];
    for (const field of fields) parts.push(encoder.encode(field));
    if (typeof value !== 'string') parts.push(new Uint8Array(await value.arrayBuffer()));
  }
  const total = parts.reduce((sum, part) => sum + 8 + part.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const part of parts) {
    view.setBigUint64(at, BigInt(part.length));
    out.set(part, at + 8);
    at += 8 + part.length;
  }
  return out;
}

const MULTIPART_FORM = /^\s*multipart\/form-data\s*;/i;

/**
 * A stored body as `bufferBody` buffered it, for its fingerprint to be judged again: bytes under a
 * multipart/form-data content-type may have been a FormData, fingerprinted by its entries, so they
 * are read back into entries with that content-type (its boundary is in the bytes). Undefined when
 * they are no multipart form, or cannot be read as one.
 */
export async function storedFormEntries(bytes: Uint8Array, contentType: string | undefined): Promise<Uint8Array | undefined> {
  if (contentType === undefined || !MULTIPART_FORM.test(contentType) || typeof FormData === 'undefined') return undefined;
  try {
    const form = await new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': contentType } }).formData();
    return await formDataEntries(form);
  } catch {
    return undefined;
  }
}
