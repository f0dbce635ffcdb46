#!/usr/bin/env node
// The package's bin: `npx durable-fetch list [dir]`.
import { main } from './cli/list.js';

process.exitCode = await main(process.argv.slice(2), (text) => console.log(text), (text) => console.error(text));
