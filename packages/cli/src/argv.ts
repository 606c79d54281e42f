/**
 * The command lines users of the original Dispenser type, turned into ones oclif parses. oclif
 * has no root command with flags, and a command id must come first; the original (clap) takes
 * global flags before a subcommand: `dispenser -c x.toml dev -s web`, `dispenser -t dev -s web`.
 */

/** Commands that accept the daemon's global flags (-c, -p, -t) after their id. */
/** Every command id (a test checks this against commands/index.ts, which would be slow to load here). */
export const COMMANDS: ReadonlySet<string> = new Set(['run', 'dev', 'down', 'status', 'logs', 'history']);
/** Global flags that take the next argument as their value (`-c FILE`, not `-cFILE`/`--config=FILE`). */
const VALUE_FLAGS = new Set(['-c', '--config', '-p', '--pid-file', '-s', '--signal']);
/** `-V` is the original's; `-v` was ours first. */
const VERSION_FLAGS = new Set(['--version', '-V', '-v']);
const HELP_FLAGS = new Set(['--help', '-h']);

/**
 * - nothing, or a flag first: the daemon (`run`), e.g. `dispenser -c x.toml`;
 * - global flags, then a command: the command with those flags moved after its id;
 * - `-V`/`-v`/`--version` first: the version; a bare `--help`/`-h`: the daemon's flags (what users
 *   look for); `dispenser help [COMMAND]`: oclif's command list or one command's help (no help
 *   plugin is loaded).
 * Everything else is passed on unchanged.
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const [first, ...rest] = argv;
  if (first === undefined) return ['run'];
  if (VERSION_FLAGS.has(first)) return ['--version'];
  if (argv.length === 1 && HELP_FLAGS.has(first)) return ['run', '--help'];
  if (first === 'help') return rest.length > 0 ? [...rest, '--help'] : ['--help'];
  if (!first.startsWith('-')) return [...argv];
  const at = commandAfterGlobalFlags(argv);
  if (at === undefined) return ['run', ...argv];
  return [argv[at]!, ...argv.slice(0, at), ...argv.slice(at + 1)];
}

/** Index of the first command id that follows only flags (and their values), if any. */
function commandAfterGlobalFlags(argv: readonly string[]): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (!arg.startsWith('-')) return COMMANDS.has(arg) ? i : undefined;
    if (VALUE_FLAGS.has(arg)) i++;
  }
  return undefined;
}
