/**
 * One attempt on the wire, through ky: the request goes out once (ky's own retries are off, the
 * loop is ours), and the answer is read to its end within the attempt's time limit. ky's
 * `timeout` covers the headers only; a body that trickles or stalls would hold the call, and a
 * start-up `recover()`, for as long as the server likes — so the limit is a signal over both.
 */
import ky, { NetworkError, TimeoutError } from 'ky';
import type { NormalizedOptions } from './options.js';
import type { Answer } from './response.js';
import { timeLimit } from './time-limit.js';

export interface WireRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: Uint8Array | undefined;
  /** The URL as errors may show it (credential-like query values masked). */
  shownUrl: string;
}

export async function sendAttempt(request: WireRequest, timeout: number | false, signal: AbortSignal, options: NormalizedOptions): Promise<Answer> {
  const limit = timeLimit(signal, timeout);
  try {
    const response = await ky(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body as BodyInit | undefined,
      timeout: false,
      retry: 0,
      throwHttpErrors: false,
      // The limit goes to fetch, not to ky: ky would join it to its own signal with
      // AbortSignal.any, whose dependent signals outlive the call until collected — a cost paid
      // on every attempt. Given to fetch, it aborts the same request and the body being read.
      fetch: (input, init) => {
        const limited = { ...init, signal: limit.signal };
        return options.fetch ? options.fetch(input, limited) : globalThis.fetch(input, limited);
      },
      hooks: options.hooks,
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, statusText: response.statusText, headers: response.headers, bytes, url: response.url };
  } catch (error) {
    // ky's errors carry the request it sent, credentials and all: ours name it, and nothing more.
    const shown = new Request(request.shownUrl, { method: request.method });
    if (limit.expired && !signal.aborted) throw new TimeoutError(shown);
    if (error instanceof NetworkError) throw new NetworkError(shown, { cause: error.cause as Error });
    // Bun rejects a dropped connection with TypeError('ECONNRESET: ...') and a `code`, which ky does not take for a network error.
    if (error instanceof TypeError && typeof (error as { code?: unknown }).code === 'string') throw new NetworkError(shown, { cause: error });
    throw error;
  } finally {
    limit.end();
  }
}
