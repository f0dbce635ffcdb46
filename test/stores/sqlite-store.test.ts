import { type SqliteStore, sqliteStore } from '../../src/stores/sqlite.js';
import { describeIntentStore } from '../../src/testing.js';
import { runFixture, startClaimantProcess, untilLines } from '../support/processes.js';
import { freshDbPath, plantDamagedRow, plantUnknownRow } from '../support/sqlite.js';

describeIntentStore('sqliteStore', async () => sqliteStore(await freshDbPath()), {
  plantUnknown: plantUnknownRow,
  plantDamaged: plantDamagedRow,
  processes: { count: 4, startClaimant: (store, request) => startClaimantProcess(['sqlite', (store as SqliteStore).path], request) },
  // An owner is its process: one that enlisted and has exited is gone.
  async deadOwner(store) {
    const owner = runFixture('enlisted-owner.ts', ['sqlite', (store as SqliteStore).path], { nodeArgs: ['--import', 'tsx'] });
    const [id] = await untilLines(owner, 1);
    await owner.exited;
    return id!;
  },
});
