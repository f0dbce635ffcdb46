import { isCredentialHeader } from './credentials.js';
import type { StoredResponse } from './stores/store.js';

/** A standard Response, plus what the operation did. */
export type DurableResponse = Response & {
  /** The key this operation used (generated unless one was given). */
  readonly idempotencyKey: string;
  /** The server marked a replay, or the journal answered. `false` means "not marked", never "fresh". */
  readonly replayed: boolean;
  /** Attempts this call made; 0 when the journal answered. */
  readonly attempts: number;
};

/** The call's promise, with ky's body shortcuts. */
export type DurableResponsePromise = Promise<DurableResponse> & {
  json<T = unknown>(): Promise<T>;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
  blob(): Promise<Blob>;
};

/** A server answer read to the end, so it can be journaled, classified and handed out again. */
export interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  bytes: Uint8Array;
  url: string;
}

/** One decoder for every answer: a TextDecoder is costly to build and, used without `stream`, keeps no state. */
const utf8 = new TextDecoder();

/** An answer's bytes as text (UTF-8, a BOM dropped), as `Response.text()` reads them. */
export function answerText(answer: Pick<Answer, 'bytes'>): string {
  return utf8.decode(answer.bytes);
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export function toResponse(answer: Answer): Response {
  const body = NULL_BODY_STATUSES.has(answer.status) ? null : (answer.bytes as BodyInit);
  const response = new Response(body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
  if (answer.url) Object.defineProperty(response, 'url', { value: answer.url });
  return response;
}

/** The bytes behind each response handed out, for the promise's shortcuts. */
const answerBytes = new WeakMap<Response, Uint8Array>();

export function toDurableResponse(
  answer: Answer,
  idempotencyKey: string,
  { replayed = false, attempts = 0 }: { replayed?: boolean; attempts?: number },
): DurableResponse {
  const response = Object.assign(toResponse(answer), { idempotencyKey, replayed, attempts });
  answerBytes.set(response, answer.bytes);
  return response;
}

/** A journaled answer keeps no credential (Set-Cookie above all). */
export function toStoredResponse(answer: Answer): StoredResponse {
  const headers: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    if (!isCredentialHeader(name)) headers[name] = value;
  });
  return { status: answer.status, statusText: answer.statusText, headers, body: answer.bytes };
}

export function fromStoredResponse(stored: StoredResponse, url: string): Answer {
  return {
    status: stored.status,
    statusText: stored.statusText,
    headers: new Headers(stored.headers),
    bytes: stored.body,
    url,
  };
}

/**
 * ky's shortcuts: `await api.post(...).json()`. An empty body reads as '' for json(), as in ky.
 * `json()` and `text()` decode the answer's bytes, already in memory, rather than stream them
 * out of the response again; like a shortcut reading a clone, they leave its body unread.
 */
export function withShortcuts(promise: Promise<DurableResponse>): DurableResponsePromise {
  const text = async () => {
    const response = await promise;
    const bytes = answerBytes.get(response);
    return bytes === undefined || response.bodyUsed ? response.text() : answerText({ bytes });
  };
  const shortcuts = {
    json: async () => {
      const body = await text();
      return body === '' ? '' : JSON.parse(body);
    },
    text,
    arrayBuffer: async () => (await promise).arrayBuffer(),
    blob: async () => (await promise).blob(),
  };
  return Object.assign(promise, shortcuts) as unknown as DurableResponsePromise;
}
