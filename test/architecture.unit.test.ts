/**
 * The shape of the source, kept: no import cycle in src/ (what runs: type-only imports are
 * erased), and no module on a call's path longer than can be read in one sitting.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function sources(dir = SRC): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The modules a module loads when it runs: its relative imports and re-exports that are not type-only. */
function runtimeImports(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const found: string[] = [];
  for (const [statement, typeOnly, names, from] of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:(\{[^}]*\}|[\w*\s,{}]+?)\s+from\s+)?'(\.[^']+)'/gm)) {
    if (typeOnly !== undefined) continue;
    const inBraces = names?.match(/^\{([^}]*)\}$/)?.[1];
    if (inBraces !== undefined && inBraces.trim() !== '' && inBraces.split(',').every((name) => name.trim() === '' || name.trim().startsWith('type '))) continue;
    if (statement.startsWith('export') && names === undefined) continue;
    found.push(resolve(dirname(path), from!.replace(/\.js$/, '.ts')));
  }
  return found;
}

/** Every cycle in the graph, each as the chain of modules that closes it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next].map((path) => relative(SRC, path)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

/** The modules a keyed call and a recovery go through, from the client to the store and the network. */
const CALL_PATH = [
  'client.ts', 'flights.ts', 'request.ts', 'operation.ts', 'journal-gate.ts', 'acquire.ts', 'send.ts', 'attempt.ts', 'ownership.ts', 'owner.ts',
  'call-types.ts', 'call-errors.ts', 'about.ts', 'classify.ts', 'response.ts', 'retry.ts', 'retry-decision.ts', 'retry-policy.ts', 'retry-budget.ts',
  'config.ts', 'options.ts', 'runtime.ts', 'recover.ts', 'relay.ts', 'claimed.ts', 'pending.ts', 'integrity.ts', 'stores/store.ts', 'stores/rules.ts', 'stores/record-shape.ts',
];

describe('the source', () => {
  it('has no import cycle', () => {
    const graph = new Map(sources().map((path) => [path, runtimeImports(path)]));
    expect(cycles(graph)).toEqual([]);
  });

  it('keeps every module on the call path under 250 lines', () => {
    const long = CALL_PATH.map((name) => [name, readFileSync(join(SRC, name), 'utf8').split('\n').length] as const).filter(([, lines]) => lines > 250);
    expect(long).toEqual([]);
  });
});
