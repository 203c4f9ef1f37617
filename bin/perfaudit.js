#!/usr/bin/env -S node --max-semi-space-size=4
// A smaller young generation: the catalog rows of a large scan die young, and V8's default
// semi-space growth kept ~60 MB of them alive until the first full GC (peak RSS 327 MB →
// about 250 MB at 10,000 tables, no slower; see README "Performance").
// Loads the built CLI; `npm ci` builds it through the `prepare` script.
import { main } from '../dist/src/cli.js';

process.exitCode = await main(process.argv);
