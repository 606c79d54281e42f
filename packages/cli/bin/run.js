#!/usr/bin/env node
// The original's command lines (global flags before the command, `-V`, flags only = the daemon)
// are rewritten into ones oclif parses; src/argv.ts says how.
import { execute } from '@oclif/core';
import { normalizeArgv } from '../dist/src/argv.js';

await execute({ args: normalizeArgv(process.argv.slice(2)), dir: import.meta.url });
