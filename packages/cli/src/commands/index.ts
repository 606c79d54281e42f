import Dev from './dev.js';
import Down from './down.js';
import History from './history.js';
import Logs from './logs.js';
import Run from './run.js';
import Status from './status.js';

// Explicit discovery (package.json oclif.commands) keeps startup fast and lets bin/run.js route
// the flag-only form to `run`.
export const commands = { run: Run, dev: Dev, down: Down, status: Status, logs: Logs, history: History };
