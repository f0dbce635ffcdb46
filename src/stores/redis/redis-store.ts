import {
  type ClaimRequest,
  type CreateOptions,
  type Intent,
  type IntentChange,
  type IntentStore,
  type IntentSummary,
  type ListQuery,
  checkPayloads,
  isKnownState,
  rebased,
  refuseTransaction,
} from '../store.js';
import { whenReady } from './connection.js';
import { DurabilityRefusal, checkDurability } from './durability.js';
import type { NormalizedRedisOptions, RedisClient } from './options.js';
import { intentFields, changeFields, intentFromHash, summaryFromRow } from './records.js';
import { CLAIM, COMPACT, CREATE, GET, LAYOUT, LIST, MIGRATE, UPDATE, type Script, indexFor, runScript } from './scripts.js';
import { subscribe } from './watch.js';

/** How many settled intents one compaction script deletes at most: Redis serves nobody else meanwhile. */
const COMPACT_BATCH = 500;

/** A journal laid out by a newer version: final until the store is reopened. */
class LayoutRefusal extends Error {}

/** For #run: a script that only reads, which needs no layout check. */
const READS = true;

/**
 * An `IntentStore` in Redis: each method is one Lua script (scripts.ts), so each is atomic
 * however many processes share the Redis. Records come back as fresh copies decoded from the
 * reply, so callers never share one.
 *
 * Leases are on the server's clock: every script reads `TIME` as it runs, so a lease is counted
 * from when its write landed, however long the call waited for a connection. After a restart
 * of Redis, no lease written before it is taken over until the server has been up the claimant's
 * `leaseMs` (scripts.ts, CLAIM).
 */
export class RedisStore implements IntentStore {
  /** The prefix of every key this store uses. */
  readonly keyPrefix: string;
  readonly #client: RedisClient;
  readonly #ownsClient: boolean;
  readonly #maxBodyBytes: number;
  readonly #durability: NormalizedRedisOptions['durability'];
  /** The wait for a connection that calls share while Redis is (re)connecting. */
  #connecting: Promise<void> | undefined;
  /** The durability check, once it has passed or refused (a lost connection lets the next call try again). */
  #durable: Promise<void> | undefined;
  /** The layout check (and migration), once done. */
  #laidOut: Promise<void> | undefined;
  readonly #watchers = new Set<() => Promise<void>>();
  #closed: Promise<void> | undefined;

  constructor(options: NormalizedRedisOptions) {
    this.keyPrefix = options.keyPrefix;
    this.#client = options.client;
    this.#ownsClient = options.ownsClient;
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#durability = options.durability;
    if (this.#ownsClient) {
      // Connection errors reach the commands that fail because of them; node-redis reconnects.
      this.#client.on('error', () => {});
      this.#client.connect().catch(() => {});
    }
  }

  async get(scope: string, id: string): Promise<Intent | undefined> {
    return intentFromHash((await this.#run(GET, [scope, id], READS)) as Buffer[]);
  }

  async create(intent: Intent, options?: CreateOptions): Promise<Intent | undefined> {
    refuseTransaction(options, 'redisStore');
    checkPayloads(intent, this.#maxBodyBytes, 'redis store');
    const existing = (await this.#run(CREATE, [intent.scope, intent.id, ...intentFields(rebased(intent, 0))])) as Buffer[] | null;
    return existing ? intentFromHash(existing) : undefined;
  }

  async update(scope: string, id: string, version: number, change: IntentChange): Promise<number | undefined> {
    checkPayloads(change, this.#maxBodyBytes, 'redis store');
    const { set, remove } = changeFields(change);
    const lease = change.leaseMs === undefined ? '' : String(change.leaseMs);
    const written = await this.#run(UPDATE, [scope, id, String(version), lease, String(set.length / 2), ...set, ...remove]);
    return written === null ? undefined : Number(written);
  }

  /** Takes intents whose lease has ended on the server's clock. Only pending and expired intents are ever claimed. */
  async claim(request: ClaimRequest): Promise<Intent[]> {
    const states = request.states.filter(isKnownState);
    if (states.length === 0 || request.limit <= 0) return [];
    const { scope, owner, leaseMs, limit, origins, id = '', unchangedBefore } = request;
    const before = unchangedBefore === undefined ? '' : String(unchangedBefore);
    const args = [scope, owner, String(leaseMs), String(limit), id, before, String(origins.length), ...origins, ...states];
    const [claimed] = (await this.#run(CLAIM, args)) as [Buffer[][]];
    return claimed.map((reply) => intentFromHash(reply)!);
  }

  async list(query: ListQuery = {}): Promise<IntentSummary[]> {
    const states = query.states?.filter(isKnownState);
    if (states?.length === 0) return [];
    const scope = query.scope === undefined ? ['0', ''] : ['1', query.scope];
    const rows = (await this.#run(LIST, [...scope, indexFor(states), ...(states ?? [])], READS)) as (Buffer | null)[][];
    return rows.map(summaryFromRow).filter((summary) => isKnownState(summary.state));
  }

  async compact(): Promise<number> {
    let deleted = 0;
    for (;;) {
      const [batchDeleted, seen] = (await this.#run(COMPACT, [String(COMPACT_BATCH)])) as [number, number];
      deleted += batchDeleted;
      if (seen < COMPACT_BATCH) return deleted;
    }
  }

  /**
   * Calls `onChange` when an intent that nobody owns becomes pending (enqueued, or released by
   * its owner), in this process or any other using the same Redis and prefix. Intents whose
   * owner died are not announced: their lease runs out silently, and the relay's poll finds them.
   */
  watch(onChange: () => void): () => Promise<void> {
    const unsubscribe = subscribe(this.#client, `${this.keyPrefix}claimable`, onChange);
    const stop = async () => {
      this.#watchers.delete(stop);
      await unsubscribe();
    };
    this.#watchers.add(stop);
    return stop;
  }

  /** Stops watching, and closes the connection if the store opened it (a given client stays open). Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([...this.#watchers].map((stop) => stop()));
      if (!this.#ownsClient) return;
      // Replies still on their way are awaited; a client still trying to connect is dropped.
      if (this.#client.isReady) await this.#client.close();
      else this.#client.destroy();
    })();
    return this.#closed;
  }

  async #run(script: Script, args: readonly (string | Buffer)[], reads = false): Promise<unknown> {
    await this.#ready(reads);
    return runScript(this.#client, script, [this.keyPrefix, ...args]);
  }

  /**
   * Connected, the durability checked (unless waived), and — before anything that writes or
   * claims — the journal in this version's layout. GET and LIST read either layout, so a reader
   * (`durable-fetch list --redis`) writes nothing.
   */
  async #ready(reads = false): Promise<void> {
    if (this.#closed) throw new Error('The redis store is closed.');
    if (!this.#client.isReady) await (this.#connecting ??= whenReady(this.#client).finally(() => (this.#connecting = undefined)));
    if (this.#durability === 'strict') await this.#checkDurability();
    if (reads) return;
    await (this.#laidOut ??= this.#checkLayout().catch((error: unknown) => {
      if (!(error instanceof LayoutRefusal)) this.#laidOut = undefined;
      throw error;
    }));
  }

  /** Migrates a journal of the first layout; refuses one a newer version laid out (final, like a durability refusal). */
  async #checkLayout(): Promise<void> {
    const found = Number(await runScript(this.#client, MIGRATE, [this.keyPrefix]));
    if (found > LAYOUT) {
      throw new LayoutRefusal(
        `The Redis journal under "${this.keyPrefix}" has layout ${found}, written by a newer durable-fetch; this version reads up to ${LAYOUT}. Upgrade durable-fetch to use it.`,
      );
    }
  }

  #checkDurability(): Promise<void> {
    this.#durable ??= checkDurability(this.#client).catch((error: unknown) => {
      if (!(error instanceof DurabilityRefusal)) this.#durable = undefined;
      throw error;
    });
    return this.#durable;
  }
}
