import Dev from './dev.js';
import Down from './down.js';
import Run from './run.js';

// Explicit discovery (package.json oclif.commands) keeps startup fast and lets bin/run.js route
// the flag-only form to `run`.
export const commands = { run: Run, dev: Dev, down: Down };
