#!/usr/bin/env node
// The package's command: `lwip-wasm relay ...` (see docs/relay.md).
import { main } from '../dist/relay.js';

process.exitCode = await main(process.argv.slice(2));
