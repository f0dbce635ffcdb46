import { createStore, promisifyRequest, type UseStore } from 'idb-keyval';
import { generateKey } from '../key.js';
import {
  type ClaimRequest,
  type Enlistment,
  type Intent,
  type IntentChange,
  type IntentStore,
  type IntentSummary,
  type ListQuery,
  applyChange,
  applyClaim,
  isClaimable,
  isCompactable,
  isKnownState,
  rebased,
  toSummary,
  type CreateOptions,
  type DamagedRecord,
  DamagedRecordError,
  checkTimes,
  recordDamageOf,
  readRecord,
  readRecords,
  refuseTransaction,
} from './store.js';

export interface IndexedDbStoreOptions {
  /**
   * Names the journal: each name is its own IndexedDB database (`durable-fetch:<name>`), so two
   * apps on one origin never see each other's intents.
   * @default none: the database `durable-fetch`
   */
  name?: string;
}

/**
 * Intents in this origin's IndexedDB, through idb-keyval: they survive reloads and crashes, and
 * every tab of the origin shares them. Records are keyed `[scope, id]`.
 *
 * Atomicity across tabs: every read-check-write (create, compare-and-set, claim) runs in one
 * readwrite transaction, and IndexedDB runs overlapping readwrite transactions on a store one
 * after another, so two tabs cannot both see the same version and both write. Inside one, only
 * IndexedDB requests may be awaited: their continuations run while the transaction is still
 * active, whereas waiting on anything else (a timer, a fetch, a Web Locks query) lets it commit
 * under our feet.
 *
 * Durability: writes ask for `durability: 'strict'`, so a resolved write has been flushed to disk,
 * not just handed to the OS. A browser that does not know the option ignores it and commits with
 * its default.
 *
 * Clock: `Date.now()`, the one clock every tab and worker of the origin shares (a page's monotonic
 * clock starts with the page). A wall-clock step can end a live tab's lease early or late.
 *
 * Liveness, through the Web Locks API, which pages and workers of an origin share as they share
 * its IndexedDB: each owner (`enlist`, one per client) holds an exclusive lock named after its
 * owner id for as long as it lives, and the browser lets go of it when the page is closed or
 * reloaded, or the worker ends. A claim takes the intents of an owner whose lock is no longer
 * held at once, whatever its lease says; an owner id is never used again, so a lock once held
 * and now free means its holder is gone. An owner still holding its lock keeps its intents until
 * its lease runs out, as everywhere: a tab that is alive but frozen (in the background, say)
 * renews nothing, and is taken over only when its lease ends. Where `navigator.locks` is missing
 * (Safari before 15.4, pages that are not a secure context), the store has no `enlist`: every
 * owner is seen through its lease alone, and a reloaded page's intents wait out `leaseMs`.
 * Owners it did not enlist (written by a store without Web Locks) are likewise left to their lease.
 *
 * Order: `list` and `claim` give the oldest `createdAt` first, and intents created within the same
 * millisecond in the order they were created, by a sequence the journal keeps (one record beside
 * the intents, under the key `'sequence'`).
 *
 * Records are read through store.ts's rule (`readRecords`): one with times out of range or no
 * intent's shape (written by another program or by hand) is left out of `list` and `claim`,
 * reported to their `onDamaged`, and never changed or compacted.
 */
export function indexedDbStore(options: IndexedDbStoreOptions = {}): IntentStore {
  return new IndexedDbStore(options.name === undefined ? 'durable-fetch' : `durable-fetch:${options.name}`);
}

const OBJECT_STORE = 'intents';
/** A tab rarely lives 100 creates, so each store sweeps at its first create too. */
const SWEEP_EVERY = 100;
/** The key of the journal's creation counter: not an array, so outside every intent's key range. */
const SEQUENCE = 'sequence';
/** Owner ids this store enlists start with this: any other owner is left to its lease. */
const OWNER_PREFIX = 'web-lock:';

/** The Web Lock an enlisted owner holds for as long as it lives. */
export function ownerLockName(owner: string): string {
  return `durable-fetch owner ${owner}`;
}

type Key = [scope: string, id: string];
/** An intent as the journal keeps it: with its place in creation order, which callers never see. */
type Stored = Intent & { seq?: number };

class IndexedDbStore implements IntentStore {
  readonly #dbName: string;
  readonly #locks: LockManager | undefined = globalThis.navigator?.locks;
  #store: UseStore | undefined;
  #createsUntilSweep = 0;
  /** Present only where the browser has Web Locks: without them no owner's death can be seen. */
  readonly enlist?: () => Promise<Enlistment>;

  constructor(dbName: string) {
    this.#dbName = dbName;
    const locks = this.#locks;
    if (locks) this.enlist = () => enlistWith(locks);
  }

  get(scope: string, id: string): Promise<Intent | undefined> {
    return this.#use('read an intent', 'readonly', async (s) => {
      const record = await promisifyRequest<Stored | undefined>(s.get([scope, id] satisfies Key));
      return record === undefined ? undefined : readRecord(visible(record));
    });
  }

  async create(intent: Intent, options?: CreateOptions): Promise<Intent | undefined> {
    refuseTransaction(options, 'indexedDbStore');
    checkTimes(intent, 'indexedDB store');
    if (--this.#createsUntilSweep < 0) {
      this.#createsUntilSweep = SWEEP_EVERY - 1;
      // Housekeeping, never a reason to refuse a write.
      this.compact().catch(() => {});
    }
    return this.#use('journal an intent', 'readwrite', async (s) => {
      const key: Key = [intent.scope, intent.id];
      const [existing, last = 0] = await Promise.all([promisifyRequest<Stored | undefined>(s.get(key)), promisifyRequest<number | undefined>(s.get(SEQUENCE))]);
      if (existing !== undefined) return readRecord(visible(existing));
      // Timed as the transaction runs, in the order transactions run: createdAt never goes back
      // against the sequence (but for a step of the wall clock).
      s.put({ ...rebased(intent, Date.now()), seq: last + 1 } satisfies Stored, key);
      s.put(last + 1, SEQUENCE);
      await promisifyRequest(s.transaction);
      return undefined;
    });
  }

  async update(scope: string, id: string, version: number, change: IntentChange): Promise<number | undefined> {
    checkTimes(change, 'indexedDB store');
    return this.#use('update an intent', 'readwrite', async (s) => {
      const key: Key = [scope, id];
      const intent = await promisifyRequest<Stored | undefined>(s.get(key));
      // A damaged record is never written to: it stays as it is, for an operator.
      if (intent?.version !== version || recordDamageOf(intent, true) !== undefined) return undefined;
      const written = applyChange(intent, change, Date.now());
      s.put(intent, key);
      await promisifyRequest(s.transaction);
      return written;
    });
  }

  /**
   * Where owners hold Web Locks, in two steps when it matters. The first transaction claims as the
   * leases allow, unless an intent it would come to first is held by an owner of ours under a
   * lease: then it writes nothing, and the claim asks which owner locks are held (outside any
   * transaction), and claims again, taking those owners' intents if their locks are free. Only
   * owners seen in the first transaction are judged: their locks were granted before it (an owner
   * is enlisted before it writes), so a lock free after it has been let go. An owner that enlisted
   * after the lock query, and so is missing from it, is not mistaken for a dead one.
   */
  async claim(request: ClaimRequest): Promise<Intent[]> {
    checkTimes(request, 'indexedDB store');
    const suspects = await this.#claim(request);
    if (Array.isArray(suspects)) return suspects;
    const held = await this.#locks!.query().then(
      ({ held = [] }) => new Set(held.map((lock) => lock.name)),
      () => undefined,
    );
    return this.#claim(request, (owner) => suspects.has(owner) && held !== undefined && !held.has(ownerLockName(owner))) as Promise<Intent[]>;
  }

  list(query: ListQuery = {}): Promise<IntentSummary[]> {
    return this.#use('list intents', 'readonly', async (s) => {
      const intents = oldestFirst(await promisifyRequest(s.getAll(query.scope === undefined ? allIntents() : scopeRange(query.scope))), query.onDamaged);
      return intents.filter((intent) => !query.states || query.states.includes(intent.state)).map((intent) => toSummary(visible(intent)));
    });
  }

  compact(): Promise<number> {
    return this.#use('compact the journal', 'readwrite', (s) => {
      const now = Date.now();
      let deleted = 0;
      // Decided record by record as the cursor reaches it, inside the transaction: a write racing
      // the sweep is never judged by a stale copy.
      s.openCursor(allIntents()).onsuccess = function () {
        const cursor = this.result;
        if (!cursor) return;
        if (recordDamageOf(cursor.value, true) === undefined && isCompactable(cursor.value as Intent, now)) {
          cursor.delete();
          deleted++;
        }
        cursor.continue();
      };
      return promisifyRequest(s.transaction).then(() => deleted);
    });
  }

  async close(): Promise<void> {
    // A store never used holds no connection, and one whose database never opened has nothing
    // to release: neither is worth opening or failing for. close() lets the connection go once
    // its transactions finish, so whoever opens or deletes the database next is not blocked.
    await this.#store?.('readonly', (s) => s.transaction.db.close()).catch(() => {});
  }

  /**
   * One claim transaction. Without `isGone`, and where owners hold Web Locks, it resolves instead
   * the owners of ours whose leases keep it from intents it would otherwise take, having written
   * nothing, when there are any.
   */
  #claim(request: ClaimRequest, isGone?: (owner: string) => boolean): Promise<Intent[] | Set<string>> {
    return this.#use('claim intents', 'readwrite', async (s) => {
      const now = Date.now();
      const records = await promisifyRequest<Stored[]>(request.id === undefined ? s.getAll(scopeRange(request.scope)) : s.getAll([request.scope, request.id] satisfies Key));
      const claimed: Stored[] = [];
      const suspects = new Set<string>();
      for (const intent of oldestFirst(records, undefined)) {
        if (claimed.length >= request.limit) break;
        if (isClaimable(intent, request, now, isGone)) claimed.push(intent);
        else if (!isGone && this.#locks && intent.owner?.startsWith(OWNER_PREFIX) && isClaimable(intent, request, now, () => true)) suspects.add(intent.owner);
      }
      if (suspects.size > 0) return suspects;
      for (const intent of claimed) {
        applyClaim(intent, request, now);
        s.put(intent, [intent.scope, intent.id] satisfies Key);
      }
      await promisifyRequest(s.transaction);
      return claimed.map((intent) => visible(intent));
    });
  }

  // Opening is deferred to the first call, so creating a client (in SSR, a worker, a browser with
  // storage disabled) neither touches nor requires IndexedDB.
  async #use<T>(what: string, mode: IDBTransactionMode, op: (store: IDBObjectStore) => Promise<T>): Promise<T> {
    try {
      if (typeof indexedDB === 'undefined') throw new Error('IndexedDB is not available here');
      return await (this.#store ??= strictStore(this.#dbName))(mode, op);
    } catch (cause) {
      if (cause instanceof DamagedRecordError) throw cause;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new Error(`indexedDbStore "${this.#dbName}" could not ${what}: ${reason}`, { cause });
    }
  }
}

/**
 * A new owner holding the exclusive Web Lock named after it, resolved once the lock is granted
 * (at once: nobody else asks for that name). The lock is held until `release()`, or until the
 * page or worker ends. Should the browser take it while the holder lives on (WebKit lets go of
 * the locks of a page it puts in the back/forward cache; `steal` does it too), `lost` settles:
 * claimants take this owner's intents from then on, so the client enlists anew for new work.
 */
async function enlistWith(locks: LockManager): Promise<Enlistment> {
  const owner = OWNER_PREFIX + generateKey();
  let release!: () => void;
  let granted!: () => void;
  const wanted = new Promise<void>((resolve) => (release = resolve));
  const grant = new Promise<void>((resolve) => (granted = resolve));
  const held = locks.request(ownerLockName(owner), () => {
    granted();
    return wanted;
  });
  // A request refused before its grant rejects the enlistment; one whose lock ends later, lost or released, ends `lost`.
  await Promise.race([grant, held]);
  let releasing = false;
  const ended = held.then(
    () => {},
    () => {},
  );
  return {
    owner,
    lost: ended.then(() => (releasing ? new Promise<never>(() => {}) : undefined)),
    release() {
      releasing = true;
      release();
      return ended;
    },
  };
}

/**
 * idb-keyval's store, except that readwrite transactions ask for strict durability: its own
 * opens transactions without options. Its connection (opened once, reopened if the browser drops
 * it) is borrowed through an empty readonly transaction.
 */
function strictStore(dbName: string): UseStore {
  const store = createStore(dbName, OBJECT_STORE);
  return (mode, callback) =>
    mode === 'readonly'
      ? store(mode, callback)
      : store('readonly', (s) => s.transaction.db).then((db) =>
          callback(db.transaction(OBJECT_STORE, mode, { durability: 'strict' }).objectStore(OBJECT_STORE)),
        );
}

/**
 * Every key of a scope sorts between `[scope]` and `[scope, []]` (an array sorts after any
 * string), so one range read returns just that scope.
 */
function scopeRange(scope: string): IDBKeyRange {
  return IDBKeyRange.bound([scope], [scope, []]);
}

/** Every intent key is an array, and every array sorts from `[]` on: the counter is left out. */
function allIntents(): IDBKeyRange {
  return IDBKeyRange.lowerBound([]);
}

/** An intent as callers see it: without its place in creation order. */
function visible(record: Stored): Intent;
function visible(record: Stored | undefined): Intent | undefined;
function visible(record: Stored | undefined): Intent | undefined {
  // Anything but a record (a damaged one) is handed on as it is, for the reading rule to judge.
  if (typeof record !== 'object' || record === null) return record;
  const { seq: _seq, ...intent } = record;
  return intent;
}

/**
 * Records this version understands, oldest `createdAt` first, then in creation order (records
 * journaled before the sequence was kept have none, and keep their key order among themselves).
 * Damaged ones are left out and told to `onDamaged`.
 */
function oldestFirst(records: unknown[], onDamaged: ((record: DamagedRecord) => void) | undefined): Stored[] {
  return readRecords<Stored>(records, onDamaged, true)
    .filter((intent) => isKnownState(intent.state))
    .sort((a, b) => a.createdAt - b.createdAt || (a.seq ?? 0) - (b.seq ?? 0));
}
