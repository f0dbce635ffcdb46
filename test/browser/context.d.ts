// What the browser project's globalSetup and custom commands (see vitest.config.ts) hand to the
// tests, typed for `inject()` and `commands`.
import 'vitest';
import 'vitest/browser';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the idempotent test server (`support/server`) that global-setup.ts started. */
    serverUrl: string;
  }
}

declare module 'vitest/browser' {
  interface BrowserCommands {
    runInFreshPage: <T = unknown>(modulePath: string, exportName: string, ...args: unknown[]) => Promise<T>;
  }
}
