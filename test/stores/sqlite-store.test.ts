import { sqliteStore } from '../../src/stores/sqlite.js';
import { describeIntentStore } from '../../src/testing.js';
import { freshDbPath, plantUnknownRow, startClaimantProcess } from '../support/sqlite.js';

describeIntentStore('sqliteStore', async () => sqliteStore(await freshDbPath()), {
  plantUnknown: plantUnknownRow,
  processes: { count: 4, startClaimant: startClaimantProcess },
});
