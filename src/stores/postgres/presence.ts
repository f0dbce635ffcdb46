import type pg from 'pg';
import { Client } from './driver.js';
import type { TableName } from './names.js';
import { lockKey, NOW_MS } from './intent-table.js';

/**
 * Waits before connecting again after a presence session was lost: at once first (a killed
 * connection, a restarted server that is already back), then a little longer each time while the
 * server stays out of reach. Reset by every session that comes up.
 */
const RECONNECT_MS = [0, 50, 100, 250];

/** How soon an owner whose lock could not be taken (an exclusive lock on the same key) is tried again. */
const RELOCK_MS = 100;

/** Sessions per store, each holding every owner's lock: one of them lost alone never leaves an owner unseen. */
const SESSIONS = 2;

/** What a session tells its store. */
interface SessionEvents {
  /** A session holds `owner`'s lock. */
  locked(owner: string): void;
  /** A session could not connect. */
  unreachable(error: unknown): void;
}

/** The statements the sessions run, for one table. */
interface PresenceSql {
  /** Takes the locks of owners `$1` and bumps their generations; returns the owners locked. */
  lock: string;
  /** Marks owner `$1` released and drops this session's lock. */
  release: string;
  /** Drops this session's lock of owner `$1`. */
  unlock: string;
  /** Marks owner `$1` released (through the pool, when no session is up). */
  released: string;
}

/**
 * Enlisted owners' sign of life: sessions of the store's own (each a `pg.Client`, not one of the
 * pool's) holding a session-level advisory lock per owner, shared, so that both of its two
 * sessions hold every owner's. Claimants read `pg_locks`, which every role may, to see whether an
 * owner's lock is held by anyone (intent-table.ts).
 *
 * A session that ends is not a death: a connection killed by `pg_terminate_backend`, a network
 * blip or a restart of PostgreSQL ends it while the owner lives on. With two sessions, one lost
 * alone leaves the locks held by the other: opening a connection can take a second on a loaded
 * server, and the owner does not go unseen meanwhile. A lost session is replaced at once (then
 * with a short backoff while the server is out of reach) and takes every lock again, bumping the
 * owner's `generation` in the owners table in the statement that takes the lock: a claimant that
 * saw every lock missing sees, a grace later, whether the owner came back in between, however
 * briefly. Only locks missing all that time, with the generation unchanged, are a death.
 *
 * `release()` marks the owner released (its intents are free at once) and drops its locks;
 * `stop()` ends the sessions, and with them every lock this store held.
 */
export class Presence {
  readonly #pool: pg.Pool;
  readonly #sql: PresenceSql;
  /** Owners to hold: enlisted and not released. */
  readonly #wanted = new Set<string>();
  /** Enlistments waiting for their owner's first lock. */
  readonly #waiting = new Map<string, { resolve(): void; reject(error: unknown): void }>();
  readonly #sessions: Session[];
  #stopped = false;

  constructor(config: pg.ClientConfig, pool: pg.Pool, table: TableName) {
    this.#pool = pool;
    const key = lockKey('$1::text');
    this.#sql = {
      // The lock first (the INSERT reads what it took), its generation bumped in the same
      // statement: a claimant that read the old generation before this commits either saw the
      // lock held, or sees its sighting invalidated by the new generation (intent-table.ts).
      lock: `
        WITH taken AS (SELECT owner FROM unnest($1::text[]) AS owner WHERE pg_try_advisory_lock_shared(${lockKey('owner')}))
        INSERT INTO ${table.owners} (owner, generation, released, locked_at, locked_boot)
        SELECT owner, 1, false, ${NOW_MS}, pg_postmaster_start_time() FROM taken
        ON CONFLICT (owner) DO UPDATE SET generation = ${table.owners}.generation + 1, locked_at = EXCLUDED.locked_at, locked_boot = EXCLUDED.locked_boot
        RETURNING owner`,
      release: `
        WITH released AS (UPDATE ${table.owners} SET released = true WHERE owner = $1)
        SELECT pg_advisory_unlock_shared(${key})`,
      unlock: `SELECT pg_advisory_unlock_shared(${key})`,
      released: `UPDATE ${table.owners} SET released = true WHERE owner = $1`,
    };
    this.#sessions = Array.from({ length: SESSIONS }, () => new Session(config, this.#sql, this.#wanted, {
      locked: (owner) => {
        this.#waiting.get(owner)?.resolve();
        this.#waiting.delete(owner);
      },
      unreachable: (error) => {
        // Enlistments wait through a lost session, not through a server no session can reach.
        if (this.#sessions.some((session) => session.connected)) return;
        for (const [owner, { reject }] of this.#waiting) {
          this.#wanted.delete(owner);
          reject(error);
        }
        this.#waiting.clear();
      },
    }));
  }

  /** Holds `owner`'s lock from now on; resolves once a session holds it, rejects if the server cannot be reached. */
  async enlist(owner: string): Promise<void> {
    if (this.#stopped) throw new Error('closed');
    const locked = new Promise<void>((resolve, reject) => this.#waiting.set(owner, { resolve, reject }));
    this.#wanted.add(owner);
    for (const session of this.#sessions) session.start();
    try {
      await locked;
    } catch (error) {
      this.#wanted.delete(owner);
      throw error;
    }
  }

  /**
   * The owner is done: marked released, so claimants take its intents at once, and its locks
   * dropped. Never rejects: if the server cannot be reached, the locks are gone with the sessions
   * anyway and claimants see the owner gone after the grace.
   */
  async release(owner: string): Promise<void> {
    if (!this.#wanted.delete(owner)) return;
    this.#waiting.get(owner)?.reject(new Error('released'));
    this.#waiting.delete(owner);
    let marked = false;
    for (const session of this.#sessions) {
      // The first session that holds the lock marks the owner released in the statement that drops it.
      marked = (await session.release(owner, !marked).catch(() => false)) || marked;
    }
    if (!marked) await this.#pool.query(this.#sql.released, [owner]).catch(() => {});
  }

  /** Ends the sessions: every lock this store held goes with them. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#sessions.map((session) => session.stop()));
    for (const { reject } of this.#waiting.values()) reject(new Error('closed'));
    this.#waiting.clear();
  }
}

/** One presence connection: connects, takes every wanted lock, and again after every loss, until stopped. */
class Session {
  readonly #config: pg.ClientConfig;
  readonly #sql: PresenceSql;
  readonly #wanted: ReadonlySet<string>;
  readonly #events: SessionEvents;
  /** Owners whose lock the current connection holds. */
  #locked = new Set<string>();
  #client: pg.Client | undefined;
  #stopped = false;
  /** Wakes the loop: an owner to lock, the stop. */
  #kick: () => void = () => {};
  #running: Promise<void> | undefined;
  /** Work on the connection goes one piece at a time. */
  #serial: Promise<unknown> = Promise.resolve();
  /** Whether a connection is up now. */
  connected = false;

  constructor(config: pg.ClientConfig, sql: PresenceSql, wanted: ReadonlySet<string>, events: SessionEvents) {
    this.#config = config;
    this.#sql = sql;
    this.#wanted = wanted;
    this.#events = events;
  }

  /** Starts the loop if it is not running, and has it lock what it lacks. */
  start(): void {
    if (this.#stopped) return;
    this.#running ??= this.#run();
    this.#kick();
  }

  /** Drops `owner`'s lock if this connection holds it (marking it released when `mark`); resolves whether it did. */
  release(owner: string, mark: boolean): Promise<boolean> {
    return this.#onConnection(async () => {
      const client = this.#client;
      if (client === undefined || !this.#locked.delete(owner)) return false;
      await client.query(mark ? this.#sql.release : this.#sql.unlock, [owner]);
      return mark;
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#kick();
    // Not awaited: a connection that never answers must not hold the close up (the loop races its end).
    void this.#client?.end().catch(() => {});
    await this.#running;
  }

  async #run(): Promise<void> {
    for (let failures = 0; !this.#stopped; failures++) {
      const client = new Client(this.#config);
      const died = new Promise<never>((_, reject) => {
        client.on('error', reject);
        client.on('end', () => reject(new Error('the presence connection ended')));
      });
      died.catch(() => {});
      try {
        this.#client = client;
        await Promise.race([client.connect(), died]);
        this.connected = true;
        failures = -1;
        this.#locked = new Set();
        await this.#hold(client, died);
      } catch (error) {
        if (!this.connected) this.#events.unreachable(error);
      } finally {
        this.connected = false;
        this.#client = undefined;
        this.#locked = new Set();
        void client.end().catch(() => {});
      }
      if (this.#stopped) break;
      const wait = RECONNECT_MS[Math.min(Math.max(failures, 0), RECONNECT_MS.length - 1)]!;
      if (wait > 0) await new Promise<void>((resolve) => ((this.#kick = resolve), setTimeout(resolve, wait).unref()));
    }
  }

  /** Takes every wanted lock the connection lacks, and again whenever asked, until it dies or the store stops. */
  async #hold(client: pg.Client, died: Promise<never>): Promise<void> {
    while (!this.#stopped) {
      const kicked = new Promise<void>((resolve) => (this.#kick = resolve));
      const missing = await Promise.race([this.#onConnection(() => this.#lockWanted(client)), died]);
      const retry = missing ? [new Promise<void>((resolve) => setTimeout(resolve, RELOCK_MS).unref())] : [];
      await Promise.race([kicked, died, ...retry]);
    }
  }

  /** Locks the wanted owners this connection lacks; resolves whether some are still missing. */
  async #lockWanted(client: pg.Client): Promise<boolean> {
    const owners = [...this.#wanted].filter((owner) => !this.#locked.has(owner));
    if (owners.length === 0) return false;
    const { rows } = await client.query(this.#sql.lock, [owners]);
    for (const { owner } of rows as { owner: string }[]) {
      // Held even if released meanwhile: the release, queued behind this, drops it.
      this.#locked.add(owner);
      this.#events.locked(owner);
    }
    return rows.length < owners.length;
  }

  #onConnection<T>(work: () => Promise<T>): Promise<T> {
    const done = this.#serial.then(work);
    this.#serial = done.catch(() => {});
    return done;
  }
}
