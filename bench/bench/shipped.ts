/**
 * durable-fetch as users run it: the built package (dist/, which `npm run bench` builds first),
 * loaded by file URL — tsx would map the package's name to src, as tsconfig's paths say — and
 * typed from src. Run from src under tsx, every closure a call makes would pay for the loader's
 * keepNames (a defineProperty each), which the package does not. URLs, not literal specifiers,
 * so that type-checking never needs a build.
 */
import type * as Main from '../../src/index.node.js';
import type * as Node from '../../src/node.js';

const MAIN = new URL('../../dist/index.node.js', import.meta.url).href;
const NODE = new URL('../../dist/node.js', import.meta.url).href;

export const { createClient, memoryStore } = (await import(MAIN)) as typeof Main;
export const { sqliteStore } = (await import(NODE)) as typeof Node;
