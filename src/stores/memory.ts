import {
  type ClaimRequest,
  type Intent,
  type IntentChange,
  type IntentStore,
  type IntentSummary,
  type ListQuery,
  isClaimable,
  isCompactable,
  isKnownState,
  toSummary,
  type CreateOptions,
  refuseTransaction,
} from './store.js';

/**
 * Intents in this process's memory: for tests, and for callers who opt out of durability.
 * Nothing survives the process. Records go in and come out as copies, so no caller can change
 * what is stored except through `update` and `claim`.
 */
export function memoryStore(): IntentStore {
  return new MemoryStore();
}

class MemoryStore implements IntentStore {
  /** By scope, then id; a Map keeps insertion order, which breaks `createdAt` ties. */
  readonly #scopes = new Map<string, Map<string, Intent>>();

  async get(scope: string, id: string): Promise<Intent | undefined> {
    const intent = this.#scopes.get(scope)?.get(id);
    return intent && copied(intent);
  }

  async create(intent: Intent, options?: CreateOptions): Promise<Intent | undefined> {
    refuseTransaction(options, 'memoryStore');
    let intents = this.#scopes.get(intent.scope);
    if (!intents) this.#scopes.set(intent.scope, (intents = new Map()));
    const existing = intents.get(intent.id);
    if (existing) return copied(existing);
    const stored = copied(intent);
    stored.version = 1;
    intents.set(intent.id, stored);
    return undefined;
  }

  async update(scope: string, id: string, version: number, change: IntentChange): Promise<number | undefined> {
    const intent = this.#scopes.get(scope)?.get(id);
    if (!intent || intent.version !== version) return undefined;
    // A field given as undefined is left as it is, as the sqlite store does.
    const copy = copied(change);
    for (const field of Object.keys(copy) as Array<keyof IntentChange>) {
      if (copy[field] !== undefined) (intent as Record<keyof IntentChange, unknown>)[field] = copy[field];
    }
    return ++intent.version;
  }

  async claim(request: ClaimRequest): Promise<Intent[]> {
    const claimed = this.#oldestFirst(request.scope).filter((intent) => isClaimable(intent, request)).slice(0, Math.max(0, request.limit));
    for (const intent of claimed) {
      intent.owner = request.owner;
      intent.leaseUntil = request.leaseUntil;
      intent.version++;
    }
    return claimed.map(copied);
  }

  async list(query: ListQuery = {}): Promise<IntentSummary[]> {
    return this.#oldestFirst(query.scope)
      .filter((intent) => !query.states || query.states.includes(intent.state))
      .map(toSummary);
  }

  async compact(now: number): Promise<number> {
    let deleted = 0;
    for (const intents of this.#scopes.values()) {
      for (const [id, intent] of intents) {
        if (isCompactable(intent, now) && intents.delete(id)) deleted++;
      }
    }
    return deleted;
  }

  async close(): Promise<void> {
    this.#scopes.clear();
  }

  /** Records of known states in one scope (or all), oldest `createdAt` first: the live objects. */
  #oldestFirst(scope: string | undefined): Intent[] {
    const scopes = scope === undefined ? [...this.#scopes.values()] : [this.#scopes.get(scope) ?? new Map<string, Intent>()];
    return scopes
      .flatMap((intents) => [...intents.values()])
      .filter((intent) => isKnownState(intent.state))
      .sort((a, b) => a.createdAt - b.createdAt);
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
