import type { RedisClient } from './options.js';

/**
 * Calls `onChange` on every message on `channel`, over a connection of its own (a subscribed
 * connection can do nothing else). node-redis reconnects and resubscribes by itself; messages
 * published while it was away are lost, so each reconnection is reported as a change too.
 * Resolves a function that unsubscribes and closes the connection.
 */
export function subscribe(client: RedisClient, channel: string, onChange: () => void): () => Promise<void> {
  const subscriber = client.duplicate();
  // Connection errors are followed by reconnection; nothing here could act on them.
  subscriber.on('error', () => {});
  let connectedBefore = false;
  subscriber.on('ready', () => {
    if (connectedBefore) onChange();
    connectedBefore = true;
  });
  const subscribed = (async () => {
    await subscriber.connect();
    await subscriber.subscribe(channel, () => onChange());
  })();
  subscribed.catch(() => {});
  return async () => {
    // Also while still connecting: a Redis that is down must not keep the caller waiting.
    if (subscriber.isOpen) subscriber.destroy();
    await subscribed.catch(() => {});
  };
}
