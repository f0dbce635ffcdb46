import { type SqliteStore, sqliteStore } from '../../src/stores/sqlite.js';
import { describeIntentStore } from '../../src/testing.js';
import { startClaimantProcess } from '../support/processes.js';
import { freshDbPath, plantUnknownRow } from '../support/sqlite.js';

describeIntentStore('sqliteStore', async () => sqliteStore(await freshDbPath()), {
  plantUnknown: plantUnknownRow,
  processes: { count: 4, startClaimant: (store, request) => startClaimantProcess(['sqlite', (store as SqliteStore).path], request) },
});
