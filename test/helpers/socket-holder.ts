/**
 * Test-only stand-in for systemd's part in socket activation, run as
 *   systemd-socket-activate -l ADDR --fdname=NAME node socket-holder.js COMMAND...
 * systemd-socket-activate binds the socket and execs this with it at descriptor 3, but it starts
 * its child once; systemd keeps the socket across restarts of the service. This holds descriptor
 * 3 (never as a Node handle: it must not accept anything itself) and runs COMMAND with it, again
 * each time COMMAND exits, until this process gets SIGTERM, which it passes on.
 * LISTEN_PID has to be the command's own pid, unknown before it starts: `sh` sets it to `$$` and
 * execs the command, which keeps that pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const FD = 3;
const command = process.argv.slice(2);
if (process.env.LISTEN_PID !== String(process.pid) || process.env.LISTEN_FDS !== '1' || command.length === 0) {
  process.stderr.write(`socket-holder: expected one socket from systemd-socket-activate and a command (LISTEN_PID=${process.env.LISTEN_PID}, LISTEN_FDS=${process.env.LISTEN_FDS})\n`);
  process.exit(2);
}
const names = process.env.LISTEN_FDNAMES ?? '';
const env: NodeJS.ProcessEnv = { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: names };
delete env.LISTEN_PID;

let stopping = false;
let child: ChildProcess | undefined;
let runs = 0;

function run(): void {
  runs += 1;
  process.stderr.write(`socket-holder: starting run ${runs}\n`);
  child = spawn('sh', ['-c', 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"', 'sh', ...command], { env, stdio: ['ignore', 'inherit', 'inherit', FD] });
  child.on('exit', (code, signal) => {
    process.stderr.write(`socket-holder: run ${runs} exited (${signal ?? code})\n`);
    if (stopping) process.exit(0);
    // systemd's RestartSec, shortened: the socket keeps queueing meanwhile
    else setTimeout(run, 200);
  });
}

process.on('SIGTERM', () => {
  stopping = true;
  if (!child || child.exitCode !== null || child.signalCode !== null) process.exit(0);
  child.kill('SIGTERM');
});
run();
