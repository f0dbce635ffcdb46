/**
 * An optional peer dependency (`pg`, `redis`), loaded when the entry that needs it is. A static
 * `import` of a package that is not installed fails while the module graph is linked, before any
 * code runs, with Node's "Cannot find package"; loaded here instead, its absence is an error that
 * says what to install. Synchronous, so the entries stay free of top-level await (which
 * `require()` of an ES module refuses). An `import` of either package gives this same CommonJS
 * module, so the classes are the same ones an application's own `import` gets.
 */
import { createRequire } from 'node:module';

export function loadPeer<T>(name: string, entry: string): T {
  try {
    return createRequire(import.meta.url)(name) as T;
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    // Only the package itself missing: one of its own dependencies missing is a broken install, shown as it is.
    const missing = (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && String(message).includes(`'${name}'`);
    if (!missing) throw error;
    throw Object.assign(
      new Error(`${entry} needs the npm package "${name}", an optional peer dependency of durable-fetch that is not installed: npm install ${name}`, { cause: error }),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
  }
}
