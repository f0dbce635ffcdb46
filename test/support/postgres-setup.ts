import type { TestProject } from 'vitest/node';
import { startPostgres } from '../../support/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection URL of the PostgreSQL this run started (test/support/postgres.ts). */
    postgresUrl: string;
  }
}

/**
 * Vitest globalSetup of the node project: one real PostgreSQL for the whole run, its URL handed to
 * the tests (`inject('postgresUrl')`), stopped and deleted after. Each test works in tables of its
 * own, so files share it safely; tests that stop the server start one of their own.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide('postgresUrl', server.url);
  return () => server.destroy();
}
