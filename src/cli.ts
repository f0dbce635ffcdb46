#!/usr/bin/env node
// The package's bin: `npx durable-fetch list [path]` (see src/cli/usage.ts).
//
// The runtime guard runs first, and alone: on a Node older than the package supports it fails
// with the library's own message, said in one line, before anything reaches for node:sqlite (whose
// absence would otherwise be the error). The rest of the CLI is loaded only once it has passed.
try {
  await import('./runtime-guard.js');
} catch (error) {
  console.error(`durable-fetch: ${(error as Error).message}`);
  process.exit(1);
}
const { main } = await import('./cli/main.js');

process.exitCode = await main(process.argv.slice(2), (text) => console.log(text), (text) => console.error(text));
