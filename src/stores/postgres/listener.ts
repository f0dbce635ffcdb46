import type pg from 'pg';
import { connectListening } from './connect.js';
import { quote } from './names.js';

/** How long a lost LISTEN connection waits before it tries again, ms. */
const RECONNECT_MS = 500;

/**
 * One `LISTEN` connection, held out of the pool for as long as someone watches. When it dies
 * (PostgreSQL restarted, the network dropped) it is replaced; every time it (re)starts listening
 * it calls `onChange` once, because notifications sent while nobody listened are lost and the
 * watcher must look for itself.
 */
export class Listener {
  readonly #pool: pg.Pool;
  readonly #channel: string;
  readonly #onChange: () => void;
  #client: pg.PoolClient | undefined;
  #stopped = false;
  /** Wakes the loop early when the connection dies or `stop()` is called. */
  #interrupt: () => void = () => {};
  readonly #running: Promise<void>;

  constructor(pool: pg.Pool, channel: string, onChange: () => void) {
    this.#pool = pool;
    this.#channel = channel;
    this.#onChange = onChange;
    this.#running = this.#run();
  }

  /** Stops listening and gives the connection back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#interrupt();
    await this.#running;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const lost = new Promise<Error | undefined>((resolve) => (this.#interrupt = () => resolve(undefined)));
      let client: pg.PoolClient | undefined;
      let failure: Error | undefined;
      let dead!: (error: Error) => void;
      const died = new Promise<Error>((resolve) => (dead = resolve));
      try {
        client = await this.#connect(lost, dead);
        if (!client) break;
        client.on('end', () => dead(new Error('connection ended')));
        client.on('notification', () => this.#notify());
        await client.query(`LISTEN ${quote(this.#channel)}`);
        if (!this.#stopped) this.#notify();
        failure = await Promise.race([lost, died]);
      } catch (error) {
        failure = error as Error;
      }
      // A connection that failed is destroyed, not handed to the pool's next caller.
      client?.release(failure ?? true);
      if (!this.#stopped) await Promise.race([lost, new Promise((resolve) => setTimeout(resolve, RECONNECT_MS).unref())]);
    }
  }

  /** A connection, `onError` listening, or undefined when `stop()` came first (a connection that arrives later is closed). */
  async #connect(stopped: Promise<unknown>, onError: (error: Error) => void): Promise<pg.PoolClient | undefined> {
    const connecting = connectListening(this.#pool, onError);
    const client = await Promise.race([connecting, stopped.then(() => undefined)]);
    if (!client) connecting.then((late) => late.release(true), () => {});
    return client;
  }

  #notify(): void {
    try {
      this.#onChange();
    } catch {
      // A throwing watcher must not stop the listening.
    }
  }
}
