#!/usr/bin/env node
// oclif has no "root command with flags plus subcommands": `dispenser -c x.toml` must run the
// daemon, so insert the daemon command id when argv is empty or starts with a flag other than
// help/version.
import { execute } from '@oclif/core';

const argv = process.argv.slice(2);
const first = argv[0];
const passthrough = new Set(['--help', '-h', '--version', '-v', 'help']);
if (first === undefined || (first.startsWith('-') && !passthrough.has(first))) argv.unshift('run');
await execute({ args: argv, dir: import.meta.url });
