/**
 * Counts what the tests assert on: attempts per key and side effects applied.
 */
export class Ledger {
  readonly #attempts = new Map<string, number>();
  readonly #applied = new Map<string, Map<string, number>>(); // key -> tenant -> count
  #unkeyed = 0;
  #sequence = 0;

  /** 1-based attempt number of this request; always 1 without a key. */
  countAttempt(tenant: string, key: string | undefined): number {
    if (key === undefined) return 1;
    const id = `${tenant}\u0000${key}`;
    const attempt = (this.#attempts.get(id) ?? 0) + 1;
    this.#attempts.set(id, attempt);
    return attempt;
  }

  /** Runs the side effect once; returns its sequence number, 1-based across the server's life since reset. */
  apply(tenant: string, key: string | undefined): number {
    if (key === undefined) {
      this.#unkeyed++;
    } else {
      const byTenant = this.#applied.get(key) ?? new Map<string, number>();
      byTenant.set(tenant, (byTenant.get(tenant) ?? 0) + 1);
      this.#applied.set(key, byTenant);
    }
    return ++this.#sequence;
  }

  applied(key: string, tenant?: string): number {
    const byTenant = this.#applied.get(key);
    if (!byTenant) return 0;
    if (tenant !== undefined) return byTenant.get(tenant) ?? 0;
    let sum = 0;
    for (const count of byTenant.values()) sum += count;
    return sum;
  }

  appliedUnkeyed(): number {
    return this.#unkeyed;
  }

  appliedTotal(): number {
    return this.#sequence;
  }

  /** Per key, summed over tenants: what the control endpoint reports. */
  appliedByKey(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of this.#applied.keys()) out[key] = this.applied(key);
    return out;
  }

  reset(): void {
    this.#attempts.clear();
    this.#applied.clear();
    this.#unkeyed = 0;
    this.#sequence = 0;
  }
}
