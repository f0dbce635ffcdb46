/**
 * Imported first by the Node entries, for its effect: on a Node older than the package supports,
 * the import fails here with the version it needs, instead of later with "No such built-in module:
 * node:sqlite". Deno and Bun report a Node version of their own and are tested as themselves.
 */
const MINIMUM = [22, 13] as const;

const version = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
const isNode = version !== undefined && !('Deno' in globalThis) && !('Bun' in globalThis);
if (isNode) {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < MINIMUM[0] || (major === MINIMUM[0] && minor < MINIMUM[1])) {
    throw new Error(
      `durable-fetch needs Node.js ${MINIMUM.join('.')} or later (for node:sqlite); this is Node.js ${version}. Upgrade Node.js.`,
    );
  }
}

export {};
