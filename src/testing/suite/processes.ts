import { describe, expect, it } from 'vitest';
import { claimRequest } from '../claims.js';
import { makeIntents } from '../intents.js';
import type { SuiteContext } from './context.js';

/** Claimants in separate processes over the same storage still take each intent once. */
export function describeProcesses({ withStore, options }: SuiteContext): void {
  const processes = options.processes;
  const count = processes?.count ?? 4;
  if (processes) describe('claims across processes', () => {
    it(`gives each of 200 intents to exactly one of ${count} racing processes`, withStore(async (store) => {
      const intents = makeIntents(200);
      await Promise.all(intents.map((intent) => store.create(intent)));
      const claimants = await Promise.all(
        Array.from({ length: count }, (_, i) => processes!.startClaimant(store, claimRequest({ owner: `process-${i}`, limit: 5 }))),
      );
      const claimed = await Promise.all(claimants.map((claimant) => claimant.run()));
      expect(claimed.flat().sort()).toEqual(intents.map((intent) => intent.id).sort());
      // A race that one process won alone proves nothing about the others.
      expect(claimed.filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
    }), 60_000);
  });
}
