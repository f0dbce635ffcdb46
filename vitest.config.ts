import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { runInFreshFirefoxPage, runInFreshPage } from './test/browser/commands.js';
import { firefox } from './test/browser/firefox-provider.js';

// Debian's Chromium and Firefox ESR: no browser can be downloaded here.
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const firefoxPath = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

// test/browser runs once in each browser, as a project of its own.
const browserTests = {
  include: ['test/browser/**/*.test.ts'],
  // Starts the test server in Node and provides its URL: inject('serverUrl').
  globalSetup: ['test/browser/global-setup.ts'],
  // One test server serves every browser file, and its faults and resets are global:
  // files running side by side (one page each on a machine with more cores) would trip
  // over each other's faults.
  fileParallelism: false,
  testTimeout: 30_000,
};

export default defineConfig({
  test: {
    projects: [
      {
        // The fast inner loop (npm run test:unit): no build, no browser, no child process, no
        // server but msw's. A file joins by its name: *.unit.test.ts.
        test: {
          name: 'unit',
          include: ['test/**/*.unit.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**', 'test/**/*.unit.test.ts'],
          // Builds dist/ once: several of these run the package as shipped.
          globalSetup: ['test/support/build.ts', 'test/support/postgres-setup.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'browser',
          ...browserTests,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: {
                executablePath: chromiumPath,
                args: [
                  '--no-sandbox',
                  '--disable-gpu',
                  '--disable-background-networking',
                  '--disable-component-update',
                  '--disable-sync',
                  '--no-first-run',
                ],
              },
            }),
            instances: [{ browser: 'chromium' }],
            commands: { runInFreshPage },
          },
        },
      },
      {
        // The same files in Firefox ESR, driven over WebDriver BiDi (test/browser/firefox-provider.ts),
        // with a test server of its own.
        test: {
          name: 'browser-firefox',
          ...browserTests,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: firefox({ executablePath: firefoxPath }),
            instances: [{ browser: 'firefox' }],
            commands: { runInFreshPage: runInFreshFirefoxPage },
          },
        },
      },
    ],
  },
});
