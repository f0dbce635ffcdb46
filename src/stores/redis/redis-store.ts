import {
  type ClaimRequest,
  type CreateOptions,
  type Enlistment,
  type Intent,
  type IntentChange,
  type IntentStore,
  type IntentSummary,
  type ListQuery,
  checkPayloads,
  checkTimes,
  recordDamageOf,
  isKnownState,
  readRecord,
  readRecords,
  rebased,
  refuseTransaction,
} from '../store.js';
import { whenReady } from './connection.js';
import { DurabilityRefusal, checkDurability } from './durability.js';
import type { NormalizedRedisOptions, RedisClient } from './options.js';
import { Presence, takeSnapshot } from './presence.js';
import { intentFields, changeFields, intentFromHash, summaryFromRow } from './records.js';
import { CLAIM, COMPACT, CREATE, GET, LAYOUT, LIST, MIGRATE, UPDATE, type Script, indexFor, runScript } from './scripts.js';
import { subscribe } from './watch.js';

/** How many settled intents one compaction script deletes at most: Redis serves nobody else meanwhile. */
const COMPACT_BATCH = 500;

/** A journal laid out by a newer version: final until the store is reopened. */
class LayoutRefusal extends Error {}

/** For #run: a script that only reads, which needs no layout check. */
const READS = true;

/** A wake-up a little after an absent owner may be judged gone: the server's ms and ours never quite agree. */
const WAKE_MARGIN_MS = 5;

/**
 * An `IntentStore` in Redis: each method is one Lua script (scripts.ts), so each is atomic
 * however many processes share the Redis. Records come back as fresh copies decoded from the
 * reply, so callers never share one.
 *
 * Leases are on the server's clock: every script reads `TIME` as it runs, so a lease is counted
 * from when its write landed, however long the call waited for a connection. An owner is dead
 * when it was released, or when its store's presence connection (presence.ts) has been gone for
 * `presenceGraceMs`; claims take a dead owner's intents at once. After a restart of Redis, no
 * lease written before it is taken over until the server has been up the claimant's `leaseMs`,
 * and no absence that began before it counts (scripts.ts, CLAIM).
 */
export class RedisStore implements IntentStore {
  /** The prefix of every key this store uses. */
  readonly keyPrefix: string;
  readonly #client: RedisClient;
  readonly #ownsClient: boolean;
  readonly #maxBodyBytes: number;
  readonly #durability: NormalizedRedisOptions['durability'];
  readonly #presenceGraceMs: number;
  /** The wait for a connection that calls share while Redis is (re)connecting. */
  #connecting: Promise<void> | undefined;
  /** The durability check, once it has passed or refused (a lost connection lets the next call try again). */
  #durable: Promise<void> | undefined;
  /** The layout check (and migration), once done. */
  #laidOut: Promise<void> | undefined;
  readonly #watchers = new Set<() => Promise<void>>();
  readonly #onChange = new Set<() => void>();
  /** The wake-up of watchers when an absent owner may be judged gone, and when (performance.now()). */
  #wake: { timer: ReturnType<typeof setTimeout>; at: number } | undefined;
  /** The connection this store's enlisted owners live by, while it has any. */
  #presence: Presence | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: NormalizedRedisOptions) {
    this.keyPrefix = options.keyPrefix;
    this.#client = options.client;
    this.#ownsClient = options.ownsClient;
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#durability = options.durability;
    this.#presenceGraceMs = options.presenceGraceMs;
    if (this.#ownsClient) {
      // Connection errors reach the commands that fail because of them; node-redis reconnects.
      this.#client.on('error', () => {});
      this.#client.connect().catch(() => {});
    }
  }

  async get(scope: string, id: string): Promise<Intent | undefined> {
    const intent = intentFromHash((await this.#run(GET, [scope, id], READS)) as Buffer[]);
    return intent && readRecord(intent);
  }

  async create(intent: Intent, options?: CreateOptions): Promise<Intent | undefined> {
    refuseTransaction(options, 'redisStore');
    checkPayloads(intent, this.#maxBodyBytes, 'redis store');
    checkTimes(intent, 'redis store');
    const existing = (await this.#run(CREATE, [intent.scope, intent.id, ...intentFields(rebased(intent, 0))])) as Buffer[] | null;
    return existing ? readRecord(intentFromHash(existing)) : undefined;
  }

  async update(scope: string, id: string, version: number, change: IntentChange): Promise<number | undefined> {
    checkPayloads(change, this.#maxBodyBytes, 'redis store');
    checkTimes(change, 'redis store');
    const { set, remove } = changeFields(change);
    const lease = change.leaseMs === undefined ? '' : String(change.leaseMs);
    const written = await this.#run(UPDATE, [scope, id, String(version), lease, String(set.length / 2), ...set, ...remove]);
    return written === null ? undefined : Number(written);
  }

  /**
   * Takes intents whose lease has ended on the server's clock, or whose owner is gone. Two round
   * trips: a snapshot of which presences are connected (CLIENT LIST cannot run in a script), then
   * the CLAIM script. When the claim sees an enlisted owner's presence missing, watchers are woken
   * once it may be judged gone, so a relay takes a dead replica's intents over without waiting for
   * its next poll. Only pending and expired intents are ever claimed.
   */
  async claim(request: ClaimRequest): Promise<Intent[]> {
    checkTimes(request, 'redis store');
    const states = request.states.filter(isKnownState);
    if (states.length === 0 || request.limit <= 0) return [];
    const { scope, owner, leaseMs, limit, origins, id = '', unchangedBefore, excluding = [] } = request;
    const before = unchangedBefore === undefined ? '' : String(unchangedBefore);
    await this.#ready();
    const snapshot = await takeSnapshot(this.#client, this.keyPrefix);
    const presences = snapshot?.presences.flatMap((presence) => [presence.id, presence.registration, presence.listed ? '1' : '0']) ?? [];
    const args = [
      scope, owner, String(leaseMs), String(limit), id, before, String(this.#presenceGraceMs), snapshot?.at ?? '', JSON.stringify(excluding),
      String(presences.length / 3), ...presences, String(origins.length), ...origins, ...states,
    ];
    const [claimed, wakeInMs] = (await this.#run(CLAIM, args)) as [Buffer[][], number];
    if (wakeInMs >= 0) this.#wakeWatchersIn(wakeInMs + WAKE_MARGIN_MS);
    // The script took no intent with damaged times or counts; what else a hash holds is judged here (such a one is handed to nobody).
    return claimed.map((reply) => intentFromHash(reply)!).filter((intent) => recordDamageOf(intent, true) === undefined);
  }

  async list(query: ListQuery = {}): Promise<IntentSummary[]> {
    const states = query.states?.filter(isKnownState);
    if (states?.length === 0) return [];
    const scope = query.scope === undefined ? ['0', ''] : ['1', query.scope];
    const rows = (await this.#run(LIST, [...scope, indexFor(states), ...(states ?? [])], READS)) as (Buffer | null)[][];
    return readRecords<IntentSummary>(rows.map(summaryFromRow), query.onDamaged).filter((summary) => isKnownState(summary.state));
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
   * its owner), in this process or any other using the same Redis and prefix; and when an owner
   * this store's claims saw missing may be judged gone. Intents whose lease merely ran out are not
   * announced: the relay's poll finds them.
   */
  watch(onChange: () => void): () => Promise<void> {
    const unsubscribe = subscribe(this.#client, `${this.keyPrefix}claimable`, onChange);
    this.#onChange.add(onChange);
    const stop = async () => {
      this.#watchers.delete(stop);
      this.#onChange.delete(onChange);
      await unsubscribe();
    };
    this.#watchers.add(stop);
    return stop;
  }

  /**
   * An owner whose death claimants see: it lives as long as this store's presence connection
   * (presence.ts), which the first enlistment opens and the last release closes. Released, an
   * owner is gone at once; if its process dies, once its presence has been away `presenceGraceMs`.
   */
  async enlist(): Promise<Enlistment> {
    await this.#ready();
    const presence = (this.#presence ??= new Presence(this.#client, this.keyPrefix));
    let owner: string;
    try {
      owner = await presence.enlist();
    } catch (error) {
      if (presence.empty) await this.#dropPresence(presence);
      throw error;
    }
    let released = false;
    return {
      owner,
      release: async () => {
        if (released) return;
        released = true;
        await presence.release(owner);
        if (presence.empty) await this.#dropPresence(presence);
      },
    };
  }

  /** Stops watching, and closes the connection if the store opened it (a given client stays open). Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#wake) clearTimeout(this.#wake.timer);
      this.#wake = undefined;
      await Promise.all([...this.#watchers].map((stop) => stop()));
      if (this.#presence) await this.#dropPresence(this.#presence);
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

  /** Watchers are told in `ms`, unless an earlier wake-up is due already. */
  #wakeWatchersIn(ms: number): void {
    if (this.#closed || this.#onChange.size === 0) return;
    const at = performance.now() + ms;
    if (this.#wake && this.#wake.at <= at) return;
    if (this.#wake) clearTimeout(this.#wake.timer);
    const timer = setTimeout(() => {
      this.#wake = undefined;
      for (const onChange of this.#onChange) onChange();
    }, ms);
    // A wake-up alone must never keep a process alive.
    (timer as { unref?: () => void }).unref?.();
    this.#wake = { timer, at };
  }

  /** Forgets the presence, so the next enlistment opens a new one, and closes it (unregistering it where Redis is reachable). */
  async #dropPresence(presence: Presence): Promise<void> {
    if (this.#presence === presence) this.#presence = undefined;
    await presence.close();
  }

  #checkDurability(): Promise<void> {
    this.#durable ??= checkDurability(this.#client).catch((error: unknown) => {
      if (!(error instanceof DurabilityRefusal)) this.#durable = undefined;
      throw error;
    });
    return this.#durable;
  }
}
