/**
 * Server answer → what it means for the operation. SPEC's classification table lives here, and
 * only here: the known codes, the idempotency signal, and the replay markers.
 */
import { type Answer, answerText, toResponse } from './response.js';

/** What a `classify` option may teach the client about an unusual server. */
export type IdempotencyAnswerKind = 'mismatch' | 'conflict' | 'invalid-key';

/** A `classify` option: runs before the built-in rules; `undefined` defers to them. */
export type Classifier = (response: Response, body: unknown) => IdempotencyAnswerKind | undefined;

export type Verdict =
  | { kind: 'success'; replayed: boolean }
  | { kind: 'mismatch' | 'invalid-key'; code: string | undefined; signal?: boolean }
  /** In flight elsewhere: retried; when retries run out, a conflict error only with a signal. */
  | { kind: 'conflict'; code: string | undefined; signal: boolean }
  /** 5xx and 429: retried, never the server's final word. */
  | { kind: 'transient'; code: string | undefined }
  /** Any other non-2xx: a plain HTTPError. */
  | { kind: 'http-error'; code: string | undefined };

export interface ClassifyOptions {
  classify?: Classifier;
  replayHeaders: readonly string[];
}

const KNOWN_CODES: Record<string, IdempotencyAnswerKind> = {
  // Key reused with another request.
  idempotency_mismatch: 'mismatch', // seed 000
  error_idempotency_key_conflict: 'mismatch', // seed 001
  idempotency_key_reused: 'mismatch', // seeds 002, 003
  idempotency_error: 'mismatch', // seed 002's error, Stripe's type (400)
  idempotency_key_mismatch: 'mismatch', // Whop
  idempotency_key_already_used_error: 'mismatch', // Increase
  'fingerprint-mismatch': 'mismatch', // hono-idempotency
  // The first request with the key is still being processed.
  idempotency_key_in_use: 'conflict', // Stripe
  idempotency_request_in_progress: 'conflict', // Whop
  // The key itself is refused.
  invalid_idempotency_key: 'invalid-key', // seed 004
  idempotency_key_invalid: 'invalid-key',
  'key-too-long': 'invalid-key',
};

/** Replay markers: a flag header set to true/1, or a status header set to "replayed". */
const REPLAY_HEADERS = [
  'idempotent-replayed', // Stripe
  'x-idempotent-replayed', // seed 002
  'idempotent-replay', // seed 003
  'idempotency-replayed', // seed 004
  'x-idempotency-replayed',
  'idempotency-replay',
  'x-idempotency-status',
  'idempotency-status',
];
const REPLAY_VALUE = /^\s*(?:true|1|replayed)\s*$/i;

const IDEMPOTENCY_SIGNAL = /idempoten/i;
const IN_FLIGHT_WORDING = /in[ -]?progress|in use|outstanding|concurrent|still (?:being )?process/i;
const REUSE_WORDING = /reuse|already used|different|same parameters|mismatch|payload|misuse/i;

export function isReplayed(headers: Headers, extraNames: readonly string[]): boolean {
  const marks = (name: string) => REPLAY_VALUE.test(headers.get(name) ?? '');
  return REPLAY_HEADERS.some(marks) || extraNames.some(marks);
}

/** The JSON body if it is JSON, else the text: what `classify` options receive. */
export function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Wherever servers put their code, most specific first: `error.code`, `code`, `error.type`,
 * `type` (a problem+json URI's last segment), `error` as a string.
 */
export function candidateCodes(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const { error, code, type } = body as Record<string, unknown>;
  const nested = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const lastSegment = typeof type === 'string' ? type.split(/[?#]/)[0]?.split('/').filter(Boolean).pop() : undefined;
  return [nested.code, code, nested.type, lastSegment, error].filter((value): value is string => typeof value === 'string' && value !== '');
}

function knownKind(code: string): IdempotencyAnswerKind | undefined {
  return KNOWN_CODES[code.toLowerCase()];
}

/**
 * A 2xx is decided by its status and headers alone: its body is neither decoded nor parsed, and a
 * `Response` for a `classify` option is built only for the answers it is asked about.
 */
export function classifyAnswer(answer: Answer, options: ClassifyOptions): Verdict {
  const { status } = answer;
  if (status >= 200 && status < 300) {
    return { kind: 'success', replayed: isReplayed(answer.headers, options.replayHeaders) };
  }
  const text = answerText(answer);
  const body = parseBody(text);
  const codes = candidateCodes(body);
  const taught = options.classify?.(toResponse(answer), body);
  const signal = IDEMPOTENCY_SIGNAL.test(text);

  if (taught !== undefined) return { kind: taught, code: codes[0], signal: true };
  if (status >= 500 || status === 429) return { kind: 'transient', code: codes[0] };

  for (const code of codes) {
    const kind = knownKind(code);
    if (kind === undefined) continue;
    // Stripe answers both a reused key (400) and a key in use (409) with type idempotency_error.
    if (kind === 'mismatch' && code.toLowerCase() === 'idempotency_error' && status === 409 && IN_FLIGHT_WORDING.test(text)) {
      return { kind: 'conflict', code, signal: true };
    }
    return { kind, code, signal: true };
  }

  // No known code: status and the idempotency signal decide.
  const code = codes[0];
  if (status === 417) return { kind: 'mismatch', code }; // express-idempotency's misuse answer
  if (status === 409) return { kind: 'conflict', code, signal };
  if (signal && status === 422) return { kind: 'mismatch', code };
  if (signal && status === 400) {
    return REUSE_WORDING.test(text) ? { kind: 'mismatch', code } : { kind: 'invalid-key', code };
  }
  return { kind: 'http-error', code };
}
