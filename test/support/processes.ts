import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface Run {
  child: ChildProcess;
  /** Lines printed so far. */
  lines: string[];
  /** Resolves when the process has exited, with its code (null when killed) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/**
 * Starts `node [...nodeArgs] <fixture> ...args` as a real child process (`nodeArgs: ['--import',
 * 'tsx']` runs a `.ts` fixture that imports the sources). With `stdin: true` the fixture can be
 * written to (`child.stdin`).
 */
export function runFixture(fixture: string, args: string[], options: { cwd?: string; nodeArgs?: string[]; stdin?: boolean; env?: NodeJS.ProcessEnv } = {}): Run {
  const { nodeArgs = [], stdin = false, ...spawnOptions } = options;
  const child = spawn(process.execPath, [...nodeArgs, `${FIXTURES}${fixture}`, ...args], {
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    ...spawnOptions,
  });
  const lines: string[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const parts = stdout.split('\n');
    stdout = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, lines, exited };
}

/** Resolves once the fixture has printed `count` lines (rejects if it exits first): no polling, no sleeps. */
export function untilLines(run: Run, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (run.lines.length < count) return;
      run.child.stdout?.off('data', check);
      resolve(run.lines);
    };
    run.child.stdout?.on('data', check);
    void run.exited.then(({ stderr }) => reject(new Error(`The fixture exited after ${run.lines.length} of ${count} lines: ${stderr}`)));
    check();
  });
}

/** Resolves with the first line the fixture prints that `matches` (rejects if it exits first): no polling, no sleeps. */
export function untilLine(run: Run, matches: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const line = run.lines.find(matches);
      if (line === undefined) return;
      run.child.stdout?.off('data', check);
      resolve(line);
    };
    run.child.stdout?.on('data', check);
    void run.exited.then(({ stderr }) => reject(new Error(`The fixture exited without the line awaited: ${stderr}`)));
    check();
  });
}

/**
 * A claimant process (test/fixtures/claimant.ts) on a store, opened and ready to race: `run()`
 * says go and resolves with the ids it claimed. `store` names the store as the fixture takes it:
 * `['sqlite', path]`, `['postgres', url, table]` or `['redis', url, keyPrefix]`.
 */
export async function startClaimantProcess(store: string[], request: object): Promise<{ run(): Promise<string[]> }> {
  const claimant = runFixture('claimant.ts', [JSON.stringify(request), ...store], { nodeArgs: ['--import', 'tsx'], stdin: true });
  await untilLines(claimant, 1);
  return {
    async run() {
      claimant.child.stdin?.write('go\n');
      const { code, stderr } = await claimant.exited;
      if (code !== 0) throw new Error(`The claimant process failed (${code}): ${stderr}`);
      return JSON.parse(claimant.lines.at(-1) ?? '[]') as string[];
    },
  };
}
