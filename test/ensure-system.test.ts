import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../scripts/ensure-system.mjs', import.meta.url));
const MISSING = '/nonexistent/browser';

/** The browsers the script checks, in its order, each with its path override and its one line. */
const BROWSERS = [
  {
    name: 'Chromium',
    variable: 'CHROMIUM_PATH',
    line: 'durable-fetch tests need Chromium: run "sudo apt-get install -y chromium" (or set CHROMIUM_PATH)',
  },
  {
    name: 'Firefox ESR',
    variable: 'FIREFOX_PATH',
    line: 'durable-fetch tests need Firefox ESR: run "sudo apt-get install -y firefox-esr" (or set FIREFOX_PATH)',
  },
];

/** Every browser present (any executable stands in: the script checks presence, not what it is) but `missing`. */
function browsersBut(missing: string): Record<string, string> {
  return Object.fromEntries(BROWSERS.map(({ variable }) => [variable, variable === missing ? MISSING : process.execPath]));
}

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], env: Record<string, string | undefined>): Promise<Exit> {
  const options = { env: { ...process.env, ...env } };
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, options);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

const isRoot = process.getuid?.() === 0;
const hasSetpriv = (() => {
  try {
    accessSync('/usr/bin/setpriv', constants.X_OK);
    return true;
  } catch {
    return false;
  }
})();

/** The script as an unprivileged user: as is when this is not root, else as nobody. */
function runUnprivileged(env: Record<string, string | undefined>): Promise<Exit> {
  if (!isRoot) return run(process.execPath, [SCRIPT], env);
  if (hasSetpriv) {
    return run('/usr/bin/setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, SCRIPT], env);
  }
  const assignments = Object.entries(env).map(([name, value]) => `${name}=${JSON.stringify(value ?? '')}`);
  return run('su', ['nobody', '-s', '/bin/sh', '-c', `env ${assignments.join(' ')} "${process.execPath}" "${SCRIPT}"`], {});
}

describe('scripts/ensure-system.mjs, run by npm test first', () => {
  for (const { name, variable, line } of BROWSERS) {
    describe(`without ${name}`, () => {
      it('exits 1 with one line, installing nothing, for a user who is not root', async () => {
        const result = await runUnprivileged(browsersBut(variable));
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toBe(`${line} — ${variable}=${MISSING} is not an executable\n`);
      });

      it('does not install when DURABLE_FETCH_NO_INSTALL=1, even as root', async () => {
        const result = await run(process.execPath, [SCRIPT], { ...browsersBut(variable), DURABLE_FETCH_NO_INSTALL: '1' });
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toBe(`${line} — ${variable}=${MISSING} is not an executable\n`);
      });
    });
  }

  it('passes silently when everything is there', async () => {
    const result = await run(process.execPath, [SCRIPT], { ...browsersBut('none'), DURABLE_FETCH_NO_INSTALL: '1' });
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
