import { randomUUID } from 'node:crypto';
import { ErrorReply, RESP_TYPES } from './driver.js';
import { whenReady } from './connection.js';
import type { RedisClient } from './options.js';
import { REGISTER, UNREGISTER, runScript } from './scripts.js';

/**
 * Liveness in Redis: a store's enlisted owners live as long as a connection of its own — its
 * presence — stays open. The connection is named (`CLIENT SETNAME`, which node-redis sends again
 * on every reconnection) `durable-fetch/<presence id>`, and an owner id is
 * `durable-fetch/<presence id>/<owner name>`. When the process dies, the kernel closes the socket
 * and Redis drops the connection at once; a claimant sees it missing from `CLIENT LIST`.
 *
 * A dropped connection is no proof of death: a live presence reconnects at once and registers
 * again (REGISTER, on that very connection, so a registration is proof that the connection was
 * there). Each registration has a new epoch; the CLAIM script counts a presence gone only after two
 * snapshots of the client list a grace apart have missed it with no registration between, and only
 * when it registered in the server's current run (scripts.ts).
 */

/** What starts the name of a presence connection, and every owner id such a presence speaks for. */
export const PRESENCE_TAG = 'durable-fetch/';

/**
 * How soon a presence connection tries again after losing Redis: 25, 50, 100, 200, then every
 * 250 ms. node-redis's default backs off to 2 s, longer than a live owner may stay away.
 */
function reconnectStrategy(retries: number): number {
  return Math.min(25 * 2 ** retries, 250);
}

export class Presence {
  readonly id = randomUUID();
  readonly #prefix: string;
  readonly #connection: RedisClient;
  /** The names of the owners it speaks for, as the next registration writes them. */
  readonly #owners = new Set<string>();
  #closed: Promise<void> | undefined;

  constructor(client: RedisClient, prefix: string) {
    this.#prefix = prefix;
    const socket = { ...client.options?.socket, reconnectStrategy };
    this.#connection = client.duplicate({ name: `${PRESENCE_TAG}${this.id}`, socket, disableOfflineQueue: true }) as RedisClient;
    // Errors are followed by reconnection; claims see the gap, and the registration that ends it.
    this.#connection.on('error', () => {});
    this.#connection.on('ready', () => void this.#register().catch(() => {}));
  }

  /** Whether it speaks for nobody: the store closes it. */
  get empty(): boolean {
    return this.#owners.size === 0;
  }

  /**
   * A new owner this presence speaks for: resolves its id once registered, so no intent ever names
   * an owner Redis does not know yet (an unknown owner counts as released). Rejects at once while
   * Redis is unreachable.
   */
  async enlist(): Promise<string> {
    const name = randomUUID();
    this.#owners.add(name);
    try {
      await whenReady(this.#connection);
      await this.#register();
    } catch (error) {
      this.#owners.delete(name);
      throw error;
    }
    return `${PRESENCE_TAG}${this.id}/${name}`;
  }

  /** The owner is done: forgotten by the next registration, at once when connected. Never rejects. */
  async release(owner: string): Promise<void> {
    this.#owners.delete(owner.slice(owner.lastIndexOf('/') + 1));
    if (this.#owners.size > 0 && this.#connection.isReady) await this.#register().catch(() => {});
  }

  /**
   * Unregisters (every owner it spoke for is gone at once) and closes the connection. Where Redis
   * cannot be reached, the registration stays, and claimants find the presence gone after the grace.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#owners.clear();
      if (this.#connection.isReady) await runScript(this.#connection, UNREGISTER, [this.#prefix, this.id]).catch(() => {});
      this.#connection.destroy();
    })();
    return this.#closed;
  }

  async #register(): Promise<void> {
    if (this.#closed) return;
    await runScript(this.#connection, REGISTER, [this.#prefix, this.id, ...this.#owners]);
  }
}

/** What a claimant saw of the presences at one instant: which were connected, and how each was registered. */
export interface PresenceSnapshot {
  /** The server's clock when it was taken, epoch ms (as text, exactly). */
  at: string;
  /** Per registered presence: its id, its registration, and whether its connection was listed. */
  presences: { id: string; registration: string; listed: boolean }[];
}

/**
 * The client list, the registrations and the server's time, in one MULTI so that they describe
 * one instant. CLIENT is not allowed inside scripts, so this is read before the CLAIM script and
 * passed to it; the script sees later registrations itself. Resolves undefined where CLIENT LIST is
 * refused (an ACL, a managed service): presences then count as alive, and owners fall back to
 * their leases (released ones are still seen).
 */
export async function takeSnapshot(client: RedisClient, prefix: string): Promise<PresenceSnapshot | undefined> {
  let replies: unknown[];
  try {
    // Strings as strings, whatever the client maps them to (Buffers, VerbatimString in RESP3).
    replies = (await client
      .withTypeMapping({ [RESP_TYPES.BLOB_STRING]: String, [RESP_TYPES.VERBATIM_STRING]: String, [RESP_TYPES.SIMPLE_STRING]: String })
      .multi()
      .addCommand(['TIME'])
      .addCommand(['CLIENT', 'LIST', 'TYPE', 'normal'])
      .addCommand(['HGETALL', `${prefix}presences`])
      .exec()) as unknown[];
  } catch (error) {
    if (error instanceof ErrorReply) return undefined;
    throw error;
  }
  const [time, list, registry] = replies as [unknown[], unknown, unknown];
  const at = `${String(time[0])}${String(Math.floor(Number(time[1]) / 1000)).padStart(3, '0')}`;
  const connected = new Set<string>();
  for (const match of String(list).matchAll(/(?:^| )name=durable-fetch\/([0-9a-f-]+)(?= |$)/gm)) connected.add(match[1]!);
  const presences = [...entries(registry)].map(([id, registration]) => ({ id, registration, listed: connected.has(id) }));
  return { at, presences };
}

/** A hash's fields and values, as RESP2 (a flat list) or RESP3 (a map or an object) gives them. */
function entries(reply: unknown): Iterable<[string, string]> {
  if (Array.isArray(reply)) {
    const pairs: [string, string][] = [];
    for (let i = 0; i < reply.length; i += 2) pairs.push([String(reply[i]), String(reply[i + 1])]);
    return pairs;
  }
  if (reply instanceof Map) return [...reply].map(([field, value]) => [String(field), String(value)]);
  return Object.entries((reply ?? {}) as Record<string, unknown>).map(([field, value]) => [field, String(value)]);
}
