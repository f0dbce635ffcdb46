#!/usr/bin/env node
// The package's bin: `npx durable-fetch list [path]` (see src/cli/usage.ts).
import { main } from './cli/main.js';

process.exitCode = await main(process.argv.slice(2), (text) => console.log(text), (text) => console.error(text));
