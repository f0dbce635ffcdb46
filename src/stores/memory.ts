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
  checkTimes,
  readRecords,
  refuseTransaction,
} from './store.js';

/**
 * Intents in this process's memory: for tests, and for callers who opt out of durability.
 * Nothing survives the process. Records go in and come out as copies, so no caller can change
 * what is stored except through `update` and `claim`.
 *
 * Its clock is the process's monotonic clock, read as epoch ms: a wall-clock step moves no lease.
 * Its owners live in this process; one whose client has closed is gone at once.
 *
 * Every write's times are checked (`checkTimes`) and nothing else reaches its records, so it holds
 * no damaged record; it reads them through the same rule as every store all the same.
 */
export function memoryStore(): IntentStore {
  return new MemoryStore();
}

/** Epoch ms at the process's start plus monotonic time since: never jumps, whatever the wall clock does. */
const ANCHOR = Date.now() - performance.now();
const clock = () => Math.floor(ANCHOR + performance.now());

class MemoryStore implements IntentStore {
  /** By scope, then id. */
  readonly #scopes = new Map<string, Map<string, Intent>>();
  /** Each stored record's rank in the order of creation, which breaks `createdAt` ties (across scopes too). */
  readonly #ranks = new WeakMap<Intent, number>();
  #created = 0;
  /** Marks this store's owner ids, so an owner it never enlisted (or another store's) is never taken for gone. */
  readonly #tag = `memory-${generateKey()}:`;
  readonly #live = new Set<string>();

  async get(scope: string, id: string): Promise<Intent | undefined> {
    const intent = this.#scopes.get(scope)?.get(id);
    return intent && copied(intent);
  }

  async create(intent: Intent, options?: CreateOptions): Promise<Intent | undefined> {
    refuseTransaction(options, 'memoryStore');
    checkTimes(intent, 'memory store');
    let intents = this.#scopes.get(intent.scope);
    if (!intents) this.#scopes.set(intent.scope, (intents = new Map()));
    const existing = intents.get(intent.id);
    if (existing) return copied(existing);
    const stored = copied(rebased(intent, clock()));
    intents.set(intent.id, stored);
    this.#ranks.set(stored, ++this.#created);
    return undefined;
  }

  async update(scope: string, id: string, version: number, change: IntentChange): Promise<number | undefined> {
    const intent = this.#scopes.get(scope)?.get(id);
    checkTimes(change, 'memory store');
    if (!intent || intent.version !== version) return undefined;
    return applyChange(intent, copied(change), clock());
  }

  async claim(request: ClaimRequest): Promise<Intent[]> {
    checkTimes(request, 'memory store');
    const now = clock();
    const isGone = (owner: string) => owner.startsWith(this.#tag) && !this.#live.has(owner);
    const candidates = request.id === undefined ? this.#oldestFirst(request.scope) : [this.#scopes.get(request.scope)?.get(request.id)].filter((intent) => intent !== undefined);
    const readable = readRecords<Intent>(candidates, undefined, true);
    const claimed = readable.filter((intent) => isKnownState(intent.state) && isClaimable(intent, request, now, isGone)).slice(0, Math.max(0, request.limit));
    for (const intent of claimed) applyClaim(intent, request, now);
    return claimed.map(copied);
  }

  async list(query: ListQuery = {}): Promise<IntentSummary[]> {
    const readable = readRecords<Intent>(this.#oldestFirst(query.scope), query.onDamaged, true);
    return readable.filter((intent) => !query.states || query.states.includes(intent.state)).map(toSummary);
  }

  async compact(): Promise<number> {
    const now = clock();
    let deleted = 0;
    for (const intents of this.#scopes.values()) {
      for (const [id, intent] of intents) {
        if (isCompactable(intent, now) && intents.delete(id)) deleted++;
      }
    }
    return deleted;
  }

  async enlist(): Promise<Enlistment> {
    const owner = this.#tag + generateKey();
    this.#live.add(owner);
    return { owner, release: async () => void this.#live.delete(owner) };
  }

  async close(): Promise<void> {
    this.#scopes.clear();
    this.#live.clear();
  }

  /** Records of known states in one scope (or all), oldest `createdAt` first: the live objects. */
  #oldestFirst(scope: string | undefined): Intent[] {
    const scopes = scope === undefined ? [...this.#scopes.values()] : [this.#scopes.get(scope) ?? new Map<string, Intent>()];
    return scopes
      .flatMap((intents) => [...intents.values()])
      .filter((intent) => isKnownState(intent.state))
      .sort((a, b) => a.createdAt - b.createdAt || this.#ranks.get(a)! - this.#ranks.get(b)!);
  }
}


/**
 * A copy that shares nothing with `record`: its fields are strings and numbers but for the header
 * maps and the bytes, which are duplicated (as plain Uint8Arrays, whatever view came in).
 * structuredClone does the same at several times the cost, on every write of every call.
 */
function copied<T extends Partial<Intent>>(record: T): T {
  const copy = { ...record };
  if (record.headers) copy.headers = { ...record.headers };
  if (record.body) copy.body = new Uint8Array(record.body);
  if (record.response) copy.response = { ...record.response, headers: { ...record.response.headers }, body: new Uint8Array(record.response.body) };
  return copy;
}
