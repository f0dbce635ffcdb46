/**
 * Vite config for the checkout example. The page imports `durable-fetch`, which resolves to this
 * repository's source (`src/index.browser.ts`), so the example always runs the current code; the
 * demo API is served through the dev server under `/api`, so the page calls its own origin.
 *
 * `npm run example:checkout` (serve.ts) and the test build the config with `checkoutConfig()`;
 * `npx vite examples/checkout` uses the default export with the API at `DEMO_API_URL`.
 */
import { fileURLToPath } from 'node:url';
import { createLogger, defineConfig, type Logger, type UserConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

export interface CheckoutConfigOptions {
  /** Where the demo API listens; `/api/*` on the page's origin is proxied there. */
  apiUrl: string;
  host?: string;
  /** Default 5173, or the next free port. */
  port?: number;
  /** Watch files and hot-reload the page (default true). Tests turn it off so no edit reloads their page. */
  watch?: boolean;
}

/**
 * Vite's logger, but a proxied request the API failed on purpose (the demo's dropped connection,
 * which the page sees as a 502 and retries) is one line, not a stack trace.
 */
function quietProxyLogger(): Logger {
  const logger = createLogger();
  const { error } = logger;
  logger.error = (message, options) => {
    const cause = options?.error;
    if (cause && message.includes('http proxy error')) {
      logger.warn(`${message.split('\n')[0]} (${cause.message}); the page sees a 502`, { timestamp: true });
    } else {
      error(message, options);
    }
  };
  return logger;
}

export function checkoutConfig({ apiUrl, host = '127.0.0.1', port, watch = true }: CheckoutConfigOptions): UserConfig {
  return {
    root,
    clearScreen: false,
    customLogger: quietProxyLogger(),
    // Its own cache, so the example never shares pre-bundled dependencies with another Vite.
    cacheDir: `${repo}node_modules/.vite/checkout-example`,
    resolve: {
      alias: [
        { find: /^durable-fetch$/, replacement: `${repo}src/index.browser.ts` },
        { find: /^durable-fetch\/browser$/, replacement: `${repo}src/browser.ts` },
        { find: /^durable-fetch\/sw$/, replacement: `${repo}src/sw.ts` },
      ],
    },
    // The source's dependencies are pre-bundled when the server starts, not discovered on the
    // first page load (which would make Vite reload the page).
    optimizeDeps: { include: ['ky', 'p-retry', 'uuid', 'idb-keyval'] },
    server: {
      host,
      port: port ?? 5173,
      strictPort: port !== undefined,
      fs: { allow: [repo] },
      proxy: {
        '/api/': { target: apiUrl, changeOrigin: true, rewrite: (path) => path.slice('/api'.length) },
      },
      ...(watch ? {} : { watch: null, hmr: false }),
    },
  };
}

export default defineConfig(() => checkoutConfig({ apiUrl: process.env.DEMO_API_URL ?? 'http://127.0.0.1:4010' }));
