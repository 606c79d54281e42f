#!/usr/bin/env node
// oclif has no "root command with flags plus subcommands": `dispenser -c x.toml` must run the
// daemon, so insert the daemon command id when argv is empty or starts with a flag other than
// help/version. A bare `--help` shows the daemon's flags (what users look for); `dispenser help`
// lists every command (no help plugin is loaded, so it is mapped to oclif's root help here).
import { execute } from '@oclif/core';

let argv = process.argv.slice(2);
const first = argv[0];
if (first === '-v') argv = ['--version'];
else if (argv.length === 1 && (first === '--help' || first === '-h')) argv = ['run', '--help'];
else if (first === 'help') argv = argv.length > 1 ? [...argv.slice(1), '--help'] : ['--help'];
else if (first === undefined || (first.startsWith('-') && first !== '--version')) argv.unshift('run');
await execute({ args: argv, dir: import.meta.url });
