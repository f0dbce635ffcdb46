/**
 * The refund route of a shop backend: `POST /orders/:id/refund` with `{ customer, amount }` pays
 * the customer back through the payments API, once per order, however often the shop's client or
 * this service itself retries.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DurableClient, HTTPError, IdempotencyMismatchError } from 'durable-fetch';

const REFUND_ROUTE = /^\/orders\/([\w-]{1,64})\/refund$/;

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

function send(res: ServerResponse, { status, body, headers = {} }: Reply): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** What the shop's client is told when the payment did not settle here and now. */
function failed(orderId: string, error: unknown): Reply {
  if (error instanceof IdempotencyMismatchError) {
    return { status: 409, body: { code: 'refund_differs', message: `Order ${orderId} was already refunded with another customer or amount.` } };
  }
  if (error instanceof HTTPError && error.response.status >= 400 && error.response.status < 500 && error.response.status !== 429) {
    return { status: 422, body: { code: 'refund_rejected', message: `The payments API refused the refund (${error.response.status}).` } };
  }
  // The intent stays pending in the journal: a retry of this request, or the next start-up's
  // recover(), resends it with the same key, so telling the client to retry is safe.
  return {
    status: 503,
    body: { code: 'refund_pending', message: `The refund of order ${orderId} is not confirmed yet; retry the same request.` },
    headers: { 'Retry-After': '1' },
  };
}

export function refundHandler(api: DurableClient, log: (line: string) => void) {
  async function refund(orderId: string, req: IncomingMessage): Promise<Reply> {
    const body = await readJson(req);
    if (typeof body !== 'object' || body === null) return { status: 400, body: { code: 'invalid_json', message: 'Send { "customer", "amount" } as JSON.' } };
    const { customer, amount } = body as { customer?: unknown; amount?: unknown };
    try {
      // The key comes from the order, not from this attempt: a client that retries after a
      // timeout, or after this service died, asks for the same refund and gets the same payout.
      const response = await api.post('v1/payouts', {
        json: { id: `refund-${orderId}`, recipient: customer, amount },
        idempotencyKey: `refund-order-${orderId}`,
      });
      const payout = (await response.json()) as { id: string };
      const how = response.attempts === 0 ? 'already paid, answered by the journal' : response.replayed ? 'paid, the API replayed it' : 'paid';
      log(`refund of order ${orderId}: ${how} (${payout.id})`);
      return { status: 200, body: { order: orderId, payout, replayed: response.replayed } };
    } catch (error) {
      log(`refund of order ${orderId}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      return failed(orderId, error);
    }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const orderId = REFUND_ROUTE.exec(new URL(req.url ?? '/', 'http://service.invalid').pathname)?.[1];
    if (orderId === undefined) return send(res, { status: 404, body: { code: 'not_found', message: 'Try POST /orders/:id/refund.' } });
    if (req.method !== 'POST') return send(res, { status: 405, body: { code: 'method_not_allowed', message: 'Refunds are POSTed.' } });
    refund(orderId, req).then(
      (reply) => send(res, reply),
      (error: unknown) => send(res, { status: 500, body: { code: 'internal_error', message: String(error) } }),
    );
  };
}
