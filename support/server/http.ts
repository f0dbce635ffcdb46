/**
 * Wire-level helpers: reading a request, CORS, writing an answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Answer } from './answer.js';
import { REPLAY_HEADER_NAMES } from './dialects.js';

const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const EXPOSED_HEADERS = [...REPLAY_HEADER_NAMES, 'Retry-After', 'Content-Type'].join(', ');

/** Resolves with the whole body, or undefined when the client went away before sending it all. */
export function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
    req.on('close', () => {
      if (!req.complete) resolve(undefined);
    });
  });
}

export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** On every answer: a page on another origin must be able to read the replay markers and Retry-After. */
export function corsHeaders(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin) return { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': EXPOSED_HEADERS };
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    'Access-Control-Expose-Headers': EXPOSED_HEADERS,
    Vary: 'Origin',
  };
}

export function answerPreflight(req: IncomingMessage, res: ServerResponse): void {
  const requested = req.headers['access-control-request-headers'];
  res.writeHead(204, {
    ...corsHeaders(req),
    'Access-Control-Allow-Methods': ALLOWED_METHODS,
    ...(requested ? { 'Access-Control-Allow-Headers': requested } : {}),
    'Access-Control-Max-Age': '600',
    'Content-Length': '0',
  });
  res.end();
}

export function send(
  req: IncomingMessage,
  res: ServerResponse,
  answer: Answer,
  extraHeaders: Record<string, string> = {},
): void {
  if (res.destroyed || res.writableEnded) return;
  const body = Buffer.from(answer.body, 'utf8');
  res.writeHead(answer.status, {
    ...corsHeaders(req),
    ...answer.headers,
    ...extraHeaders,
    'Content-Length': String(body.length),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Destroys the connection without an answer: what the client sees is a network error. */
export function drop(req: IncomingMessage): void {
  req.socket.destroy();
}
