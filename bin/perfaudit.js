#!/usr/bin/env node
// Loads the built CLI; `npm ci` builds it through the `prepare` script.
import { main } from '../dist/src/cli.js';

process.exitCode = await main(process.argv);
