import type { TestProject } from 'vitest/node';
import { startTestServer } from '../../support/server/index.js';

/**
 * Browser tests cannot start a node:http server themselves, so one is started here, in Node, for
 * the whole browser project, and its URL handed to them: `inject('serverUrl')`. It answers CORS,
 * and its `/__control/` routes let a test reset it, inject faults and read what it applied.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startTestServer();
  project.provide('serverUrl', server.url);
  return () => server.close();
}
