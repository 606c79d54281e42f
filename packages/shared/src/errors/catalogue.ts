/**
 * Every code Dispenser reports, in one place: a DispenserError's `code`, a config problem's `code`
 * and the `code` field of a log line. `ErrorCode` is derived from the keys, so a code that is not
 * here does not compile where a code is expected. The tables of docs/reference/errors.md are
 * rendered from these entries (`npm run docs:errors`; a test fails when the page is stale), so a
 * new code is documented where it is declared.
 *
 * `where` and `action` are Markdown (links are relative to docs/reference/). Entries that follow
 * each other with the same area, `where` and `action` share one row of the page.
 */

/** A section of docs/reference/errors.md. */
export type ErrorArea = 'cli' | 'config' | 'containers' | 'rollouts' | 'cd' | 'certs' | 'notify' | 'proxy';

export interface ErrorEntry {
  area: ErrorArea;
  /** which process reports it (and the source file, for contributors), and what happened */
  where: string;
  /** what the person reading it should do */
  action: string;
}

export const errorCatalogue = {
  // CLI and supervisor
  ENV_FILE_UNREADABLE: {
    area: 'cli',
    where: 'CLI, before start and `--test` (`env-file.ts`): `.env` in the configuration directory exists but cannot be read',
    action: 'make it readable by the user Dispenser runs as, or remove it',
  },
  CONFIG_NOT_FOUND: {
    area: 'cli',
    where: 'CLI, before start (`supervisor/daemon.ts`): the `-c` file does not exist',
    action: 'pass the path of `dispenser.toml` with `-c`',
  },
  PID_FILE_IN_USE: {
    area: 'cli',
    where: 'CLI, before start (`supervisor/pid-file.ts`): another live daemon holds the pid file',
    action: 'stop it, or give this one another `-p` / config directory',
  },
  PID_FILE_UNREADABLE: {
    area: 'cli',
    where: 'CLI (`pid-file.ts`): the pid file exists but cannot be read (before start, or by `dispenser -s`)',
    action: 'let the user running Dispenser read it, or choose another `-p`',
  },
  PID_FILE_UNWRITABLE: {
    area: 'cli',
    where: 'CLI, before start (`pid-file.ts`): the pid file cannot be created (no such directory, or not writable)',
    action: "make the pid file's directory writable by the user running Dispenser, or choose another `-p`",
  },
  DAEMON_STILL_RUNNING: {
    area: 'cli',
    where: 'CLI, before start (`supervisor/daemon-lock.ts`): a process of another daemon on the same configuration directory still holds the daemon lock (its supervisor, or children a killed supervisor left behind); the message names their pids',
    action: '`dispenser -s stop` the other daemon; children of a killed supervisor exit by themselves within a second, otherwise `kill` the pids shown ([cli.md](../cli.md#one-daemon-per-configuration-directory))',
  },
  DAEMON_LOCK_FAILED: {
    area: 'cli',
    where: "CLI, before start (`daemon-lock.ts`): the lock's abstract unix socket could not be created",
    action: 'allow the daemon AF_UNIX sockets (systemd `RestrictAddressFamilies=`, seccomp filters); Linux only (off Linux there is no lock)',
  },
  SOCKET_ACTIVATION_OTHER_PID: {
    area: 'cli',
    where: 'supervisor at start, warn (`supervisor/socket-activation.ts`): `LISTEN_PID` names another process, so the sockets are not ours',
    action: 'nothing to do under systemd; elsewhere unset `LISTEN_*` ([operations.md](../operations.md))',
  },
  SOCKET_ACTIVATION_INVALID: {
    area: 'cli',
    where: 'supervisor at start, warn: `LISTEN_FDS` is not a count of descriptors; every proxy port is bound directly',
    action: 'check the `.socket` units (`ListenStream=`, `FileDescriptorName=`)',
  },
  SOCKET_ACTIVATION_UNUSABLE: {
    area: 'cli',
    where: 'supervisor at start, warn: a passed descriptor is not a listening TCP socket; it is skipped',
    action: 'check the `.socket` units (`ListenStream=`, `FileDescriptorName=`)',
  },
  SOCKET_ACTIVATION_PORT_MISMATCH: {
    area: 'cli',
    where: 'supervisor, warn after each settings change: a configured port has no activated socket (it is bound normally)',
    action: 'change the `.socket` units and `[proxy] http_port`/`https_port` together',
  },
  SOCKET_ACTIVATION_UNUSED: {
    area: 'cli',
    where: 'supervisor, warn after each settings change: an activated socket serves no configured port',
    action: 'change the `.socket` units and `[proxy] http_port`/`https_port` together',
  },
  DAEMON_NOT_RUNNING: {
    area: 'cli',
    where: '`dispenser -s` (`supervisor/control.ts`): no pid file, or it names a process that is gone; `dispenser status` / `logs` (exit 2): nothing listens on the control socket',
    action: 'start the daemon, or give the command the same `-p`/`-c` the daemon runs with',
  },
  CONTROL_SOCKET_FAILED: {
    area: 'cli',
    where: 'supervisor at start, error (`supervisor/control-server.ts`): the control socket `.dispenser/control.sock` could not be created; the daemon runs on without it, so `dispenser status` and `logs` cannot reach it',
    action: "make the configuration directory writable by the daemon's user; check the message (path too long, no space)",
  },
  CONTROL_PERMISSION_DENIED: {
    area: 'cli',
    where: '`dispenser status` / `logs`: the control socket exists but this user may not connect to it',
    action: 'run as root or as a member of the `dispenser` group ([operations.md](../operations.md#control-socket))',
  },
  CONTROL_PROTOCOL_MISMATCH: {
    area: 'cli',
    where: '`dispenser status` / `logs`: the daemon and the command speak different control protocol versions (an upgrade installed while the old daemon runs)',
    action: 'restart the daemon (`systemctl restart dispenser`), or use the command of its installation',
  },
  CONTROL_BAD_REQUEST: {
    area: 'cli',
    where: 'supervisor, answered on the control socket: a request is not valid JSON of the [control protocol](control-protocol.md), or too long',
    action: 'a client bug: check the request against the protocol reference',
  },
  CONTROL_CONNECTION_LOST: {
    area: 'cli',
    where: '`dispenser status` / `logs`: the daemon closed the control connection before answering (it stopped or restarted)',
    action: 'run the command again once the daemon is back',
  },
  ORCHESTRATOR_UNAVAILABLE: {
    area: 'cli',
    where: '`dispenser logs`, answered by the supervisor: the orchestrator is restarting, or exited while the output was followed (`dispenser status` answers anyway, degraded, also when the orchestrator gives no answer within 5 s)',
    action: "try again in a few seconds; the daemon's log says why the orchestrator restarted",
  },
  LOGS_FAILED: {
    area: 'cli',
    where: '`dispenser logs` (`orchestrator/src/control/logs.ts`): the Docker engine could not give the container\'s output',
    action: 'is dockerd running? The message has the engine\'s answer',
  },
  SIGNAL_FAILED: {
    area: 'cli',
    where: '`dispenser -s`: the signal could not be sent',
    action: "run as the daemon's user (or root)",
  },
  DAEMON_STOP_TIMEOUT: {
    area: 'cli',
    where: '`dispenser -s stop` (`commands/run.ts`): the daemon did not exit within 60 s of the signal; it keeps draining in the background',
    action: 'wait for it to exit; its log says what it is still finishing',
  },
  CHILD_ENTRY_MISSING: {
    area: 'cli',
    where: 'supervisor (`supervisor/entries.ts`): the orchestrator or worker entry file is missing',
    action: 'the installation is incomplete: reinstall, or `npm run build` in a checkout',
  },
  SUPERVISOR_GONE: {
    area: 'cli',
    where: 'orchestrator (`orchestrator/src/main.ts`) and proxy workers (`proxy/src/worker.ts`), warn: the IPC channel closed because the supervisor died without stopping them (`kill -9`, crash, OOM); the orchestrator exits at once, a worker within 0.8 s',
    action: "find out why the supervisor died (journal, `dmesg` for the OOM killer); start Dispenser again (systemd's `Restart=` does)",
  },
  METRICS_LISTEN_FAILED: {
    area: 'cli',
    where: 'supervisor, error (`supervisor/metrics-server.ts`): the `[metrics] listen` address cannot be opened (in use, not an address of this machine); Dispenser runs on without metrics',
    action: 'free the port or change `[metrics] listen`, then reload',
  },
  METRICS_UNKNOWN_SAMPLE: {
    area: 'cli',
    where: 'supervisor, warn (`supervisor/metrics-server.ts`): a process reported a metric no family declares; it is left out of `/metrics`',
    action: 'a bug: report it with the line',
  },
  SUPERVISOR_CAPABILITIES_INHERITED: {
    area: 'cli',
    where: 'supervisor at start, warn (`supervisor/privileges.ts`): its ambient capabilities could not be cleared, so children inherit them',
    action: 'build with a C compiler so the `ambient-caps` addon exists ([operations.md](../operations.md#privileges))',
  },
  ORCHESTRATOR_NO_CONFIG: {
    area: 'cli',
    where: 'orchestrator at start, fatal (`orchestrator/src/main.ts`): `DISPENSER_CONFIG` is not set',
    action: 'only when the orchestrator is started by something other than the supervisor; start Dispenser with `dispenser`',
  },
  ORCHESTRATOR_BAD_ENV: {
    area: 'cli',
    where: 'orchestrator at start, fatal (`orchestrator/src/main.ts`): `DISPENSER_DEV_SERVICES` is not a JSON array of strings',
    action: 'only when the orchestrator is started by something other than the supervisor; start Dispenser with `dispenser`',
  },

  // Configuration
  CONFIG_FILE_MISSING: {
    area: 'config',
    where: '`files.ts`: a config or vars file does not exist',
    action: 'check the path',
  },
  CONFIG_FILE_UNREADABLE: {
    area: 'config',
    where: '`files.ts`: a config or vars file cannot be read',
    action: "check the file's permissions for the user running Dispenser",
  },
  CONFIG_TOML_SYNTAX: {
    area: 'config',
    where: '`load.ts`, `vars.ts`: TOML does not parse (after rendering)',
    action: 'fix the line shown; it points at the template line you wrote',
  },
  CONFIG_TEMPLATE_SYNTAX: {
    area: 'config',
    where: '`template.ts`, `template-eval.ts`: template syntax error, unknown filter or test, unsupported tag, an operation on the wrong type',
    action: 'fix the `${ }` / `{% %}` construct; `{% raw %}` for a literal `${`',
  },
  CONFIG_TELEMETRY_NOT_WRITTEN: {
    area: 'config',
    where: 'warning: `[telemetry] enabled = true`, but this version writes no telemetry tables yet ([telemetry](../configuration/dispenser-toml.md#telemetry))',
    action: 'nothing, or set `enabled = false` to silence it',
  },
  CONFIG_IGNORED_KEY: {
    area: 'config',
    where: 'warning: an unknown key directly in `[telemetry]`, ignored as the Rust Dispenser did',
    action: 'use the suggested key, or remove it',
  },
  CONFIG_CRON_WEEKDAYS: {
    area: 'config',
    where: 'note: a 6- or 7-field cron uses weekday numbers, which the Rust Dispenser counted from Sunday = 1 ([cron](../guides/continuous-deployment.md#cron))',
    action: 'check the days it names; write day names (`MON-FRI`) to make it plain',
  },
  CONFIG_TEMPLATE_LIMIT: {
    area: 'config',
    where: '`template-eval.ts`: a template ran past a bound (loop iterations, output size, work, nesting)',
    action: 'look for a loop over a huge `range()` or a string built in a loop; limits in [templates](../configuration/variables-and-secrets.md#templates)',
  },
  CONFIG_UNDEFINED_VARIABLE: {
    area: 'config',
    where: '`template.ts`: a variable is not defined',
    action: 'define it in a `*.vars` file, or guard with `{% if x is defined %}`',
  },
  CONFIG_UNKNOWN_KEY: {
    area: 'config',
    where: '`schema-problems.ts`: a key Dispenser does not know',
    action: 'use the suggested key ([dispenser.toml](../configuration/dispenser-toml.md), [service.toml](../configuration/service-toml.md))',
  },
  CONFIG_MISSING_KEY: {
    area: 'config',
    where: '`schema-problems.ts`, `validate.ts`: a required key is missing',
    action: 'add it',
  },
  CONFIG_INVALID_VALUE: {
    area: 'config',
    where: '`schema-problems.ts`, `validate.ts`, `vars.ts`: wrong type or value',
    action: 'use a value of the type the message names',
  },
  CONFIG_VARS_INVALID: {
    area: 'config',
    where: '`vars.ts`: a variable is neither a plain value nor a secret reference',
    action: 'see [variables](../configuration/variables-and-secrets.md#variables)',
  },
  CONFIG_SECRET_UNAVAILABLE: {
    area: 'config',
    where: '`vars.ts`: a secret reference could not be resolved (Google API, env var, file)',
    action: 'check the name, the credentials and the network; the message says which',
  },
  CONFIG_SERVICE_DIR_MISSING: {
    area: 'config',
    where: '`load.ts`: a `[[service]] path` has no readable `service.toml`',
    action: 'fix the path or create the file',
  },
  CONFIG_DUPLICATE_SERVICE: {
    area: 'config',
    where: '`load.ts`, `validate.ts`: a directory listed twice, or two services with one name',
    action: 'rename or remove one',
  },
  CONFIG_PORT_CLASH: {
    area: 'config',
    where: "`validate.ts`: a host port published twice, or on the proxy's or the metrics listener's port",
    action: 'choose another host port',
  },
  CONFIG_UNKNOWN_NETWORK: {
    area: 'config',
    where: '`validate.ts`: a service joins a network that `dispenser.toml` does not declare',
    action: 'declare it as a `[[network]]` in `dispenser.toml`',
  },
  CONFIG_DUPLICATE_NETWORK: {
    area: 'config',
    where: '`validate.ts`: a `[[network]]` declared twice, or named like the default network every service joins',
    action: 'declare each network once, under a name of its own',
  },
  CONFIG_UNKNOWN_DEPENDENCY: {
    area: 'config',
    where: '`validate.ts`: `depends_on` names a service that is not declared',
    action: 'fix the `[depends_on]` table',
  },
  CONFIG_DEPENDENCY_CYCLE: {
    area: 'config',
    where: '`validate.ts`: `depends_on` entries form a cycle',
    action: 'remove one `depends_on` entry of the cycle',
  },
  CONFIG_ROUTE_CLASH: {
    area: 'config',
    where: '`validate.ts`: two services with the same proxy host + path',
    action: 'change one `host` or `path`',
  },
  CONFIG_NO_MATCHING_SERVICE: {
    area: 'config',
    where: '`select.ts`: a `dispenser dev -s NAME` matched no service',
    action: 'use a service name or directory listed in `[[service]]`',
  },
  CONFIG_INTERNAL_ERROR: {
    area: 'config',
    where: '`load.ts` (or `dispenser --test`): the loader itself failed',
    action: 'a bug: report it with the message',
  },
  CONFIG_LOAD_FAILED: {
    area: 'config',
    where: 'orchestrator (`orchestrator-process.ts`): loading the configuration failed with an error that has no code of its own (fallback code)',
    action: 'as the message says',
  },
  CONFIG_INVALID: {
    area: 'config',
    where: 'orchestrator at start, fatal (`orchestrator-process.ts`): the configuration is invalid but names no problem (fallback code of the `fatal` message)',
    action: 'as the message says',
  },

  // Containers (orchestrator)
  DOCKER_UNAVAILABLE: {
    area: 'containers',
    where: 'any Docker call: the engine is down or its socket not accessible',
    action: 'start Docker; check the user is in the `docker` group. Dispenser reconnects by itself',
  },
  IMAGE_UNAVAILABLE: {
    area: 'containers',
    where: '`reconcile/apply.ts`: no image, registry unreachable, no local copy',
    action: 'check the image name, the registry and its credentials',
  },
  IMAGE_PULL_FAILED: {
    area: 'containers',
    where: '`docker/dockerode-engine.ts`, `apply.ts`: the pull failed (an error in the pull stream)',
    action: 'as above; a local copy is used when there is one',
  },
  IMAGE_REFERENCE_INVALID: {
    area: 'containers',
    where: '`registry/reference.ts`: the image reference does not parse',
    action: 'fix `image`',
  },
  CONTAINER_CREATE_FAILED: {
    area: 'containers',
    where: '`apply.ts`: e.g. a missing bind-mount source that cannot be created',
    action: 'fix the `service.toml` value the message names, or make its parent directory writable by Dispenser\'s user',
  },
  CONTAINER_START_FAILED: {
    area: 'containers',
    where: '`apply.ts`: e.g. the host port is taken',
    action: 'free the port or choose another',
  },
  CONTAINER_NAME_CONFLICT: {
    area: 'containers',
    where: "`apply.ts`, `orchestrator.ts`: a container Dispenser does not manage has the service's name",
    action: 'remove or rename that container',
  },
  CONTAINER_RENAME_FAILED: {
    area: 'containers',
    where: '`reconcile/apply.ts`: a container could not be renamed; retried',
    action: 'usually Docker trouble; retried; `docker ps -a` shows the state',
  },
  CONTAINER_REMOVE_FAILED: {
    area: 'containers',
    where: '`reconcile/apply.ts`: a container could not be removed; retried. `dispenser down` (`down.ts`): the container stays and the command exits 1',
    action: 'usually Docker trouble; `docker ps -a` shows the state (then run `dispenser down` again)',
  },
  CONTAINER_EXITED: {
    area: 'containers',
    where: "`orchestrator.ts`, `exits.ts`, error (info for a non-proxied service that exited 0): a service's container exited without Dispenser stopping it; the line carries `exitCode`, `restartPolicy`, `restartedBy` and `lastLogs`. Not retried: the restart policy decides",
    action: 'read `lastLogs` (`docker logs <container>`), fix the cause, then `dispenser -s reload` starts it again ([containers.md](../containers.md#when-a-container-exits))',
  },
  CONTAINER_NOT_FOUND: {
    area: 'containers',
    where: '`orchestrator.ts`: a trigger for a service without a container',
    action: 'retried; a reconcile creates it',
  },
  NETWORK_EXTERNAL_MISSING: {
    area: 'containers',
    where: '`reconcile/networks.ts`: an `external = true` network does not exist',
    action: '`docker network create NAME`',
  },
  NETWORK_CREATE_FAILED: {
    area: 'containers',
    where: '`networks.ts`',
    action: 'check the driver and options; overlapping subnets',
  },
  NETWORK_REMOVE_FAILED: {
    area: 'containers',
    where: '`down.ts`: a network still used by a container Dispenser does not manage',
    action: 'disconnect or remove that container',
  },
  DEPENDENCY_FAILED: {
    area: 'containers',
    where: '`reconcile/dependencies.ts`, `apply.ts`: a `completed` dependency exited non-zero, or failed',
    action: 'fix the dependency',
  },
  DEPENDENCY_TIMEOUT: {
    area: 'containers',
    where: '`dependencies.ts`: condition not met within 5 minutes',
    action: "check the dependency's health check",
  },
  DEPENDENCY_CYCLE: {
    area: 'containers',
    where: '`apply.ts`: a cycle found at run time (validation normally catches it)',
    action: 'remove a `depends_on` entry',
  },
  SERVICE_FAILED: {
    area: 'containers',
    where: '`reconcile/apply.ts`: one service failed with an unexpected error (fallback code)',
    action: 'read the message; retried',
  },
  RECONCILE_FAILED: {
    area: 'containers',
    where: '`orchestrator.ts`: the whole reconcile pass failed with an unexpected error (fallback code)',
    action: 'read the message; retried',
  },
  SERVICE_UNKNOWN: {
    area: 'containers',
    where: '`orchestrator.ts`: a trigger for a service that is no longer declared',
    action: 'none (after a reload)',
  },
  ORCHESTRATOR_STOPPING: {
    area: 'containers',
    where: '`dependencies.ts`: Dispenser stopped while a service waited',
    action: 'none',
  },

  // Rollouts
  ROLLOUT_CONTAINER_EXITED: {
    area: 'rollouts',
    where: 'health gate: the new container exited or crashed (it runs without a restart policy until healthy, so the message has its real exit code)',
    action: 'read the `lastLogs` in the line; fix the image or configuration',
  },
  ROLLOUT_UNHEALTHY: {
    area: 'rollouts',
    where: 'health gate: `unhealthy`, or not healthy within `deploy_timeout`, or its restart policy could not be applied once healthy',
    action: 'check `health_path`/health check and start-up time; raise `deploy_timeout`',
  },
  ROLLOUT_ROUTES_UNCONFIRMED: {
    area: 'rollouts',
    where: '`rollout/steps.ts`: the proxy workers did not acknowledge the new routes within 15 s',
    action: 'look for crashing proxy workers; retried',
  },
  ROLLOUT_INCOMPLETE: {
    area: 'rollouts',
    where: '`rollout/procedure.ts`: the new container serves, but removing the old one or renaming failed',
    action: 'nothing: the next reconcile finishes it',
  },
  ROLLOUT_RESUMED: {
    area: 'rollouts',
    where: 'orchestrator at start or reconcile (`rollout/resume.ts`): a rollout cut off by a crash was finished or rolled back from its record in `.dispenser/rollouts/`',
    action: 'nothing: informational ([zero-downtime.md](../guides/zero-downtime.md))',
  },
  ROLLOUT_RESUME_FAILED: {
    area: 'rollouts',
    where: '`rollout/resume.ts`: settling a recorded rollout failed; nothing was stopped and the record stays',
    action: 'retried at the next reconcile; look for proxy worker or Docker errors',
  },
  ROLLOUT_RESUME_ROUTES_UNCONFIRMED: {
    area: 'rollouts',
    where: '`rollout/resume.ts`: the proxy workers did not confirm the route change that settles a recorded rollout; nothing was stopped and the record stays',
    action: 'retried at the next reconcile; look for proxy worker or Docker errors',
  },
  ROLLOUT_RESUME_PENDING: {
    area: 'rollouts',
    where: '`orchestrator.ts`, the reconcile outcome of a service whose interrupted rollout could not be settled (the `ROLLOUT_RESUME_FAILED` line says why): that service is left out of the pass, which is retried with backoff',
    action: 'nothing once the record settles; otherwise act on the `ROLLOUT_RESUME_FAILED` line',
  },
  ROLLOUT_RECORD_UNREADABLE: {
    area: 'rollouts',
    where: '`rollout/journal.ts`: a damaged record file is ignored',
    action: 'remove the file named in the message once the service is as it should be',
  },
  ROLLOUT_JOURNAL_FAILED: {
    area: 'rollouts',
    where: '`rollout/procedure.ts`: the progress record could not be written (disk full, permissions); before the route switch the rollout stops and the old container keeps serving',
    action: 'make `.dispenser/` writable with free space',
  },
  ROLLOUT_NOT_RETRIED: {
    area: 'rollouts',
    where: '`orchestrator.ts`: the same configuration + image already failed its rollout',
    action: 'push a fixed image or change the configuration',
  },
  ROLLOUT_ABORTED: {
    area: 'rollouts',
    where: '`rollout/health-gate.ts`: Dispenser stopped during a rollout',
    action: 'none; the next start cleans up',
  },
  ROLLOUT_FAILED: {
    area: 'rollouts',
    where: '`orchestrator.ts`: fallback code for an unexpected rollout error',
    action: 'read the message',
  },

  // Continuous deployment and registries
  REGISTRY_UNREACHABLE: {
    area: 'cd',
    where: '`registry/transport.ts`, `body.ts`: the connection failed, or the answer broke off',
    action: 'check the network; backoff up to 15 min',
  },
  REGISTRY_DNS: {
    area: 'cd',
    where: '`registry/transport.ts`: the registry host name does not resolve',
    action: 'check the network; backoff up to 15 min',
  },
  REGISTRY_TIMEOUT: {
    area: 'cd',
    where: '`transport.ts`, `body.ts`: no answer within 15 s',
    action: 'as above',
  },
  REGISTRY_UNAVAILABLE: {
    area: 'cd',
    where: '`client.ts`, `auth.ts`: 5xx',
    action: 'wait; backoff',
  },
  REGISTRY_RATE_LIMITED: {
    area: 'cd',
    where: '`client.ts`, `auth.ts`: 429 (or 503 with `Retry-After`)',
    action: 'wait (at most 1 h); raise `delay`',
  },
  REGISTRY_UNAUTHORIZED: {
    area: 'cd',
    where: '`auth.ts`: the registry (401) or its token service (401/403) wants credentials that are missing or wrong',
    action: '`docker login` as the user running Dispenser',
  },
  REGISTRY_DENIED: {
    area: 'cd',
    where: '`client.ts`: 403, the credentials do not give access to the repository',
    action: '`docker login` as the user running Dispenser',
  },
  REGISTRY_CREDENTIALS_INVALID: {
    area: 'cd',
    where: "`registry/credentials.ts`, `auth.ts`: the Docker config's entry cannot be used",
    action: 'fix `config.json`',
  },
  REGISTRY_CREDENTIAL_HELPER_FAILED: {
    area: 'cd',
    where: '`credentials.ts`: `docker-credential-<name> get` failed',
    action: "put the helper on the daemon's `PATH`",
  },
  REGISTRY_AUTH_UNSUPPORTED: {
    area: 'cd',
    where: '`auth.ts`: an authentication scheme other than Basic or Bearer',
    action: 'none in Dispenser; use a supported registry',
  },
  REGISTRY_PROTOCOL: {
    area: 'cd',
    where: '`auth.ts`, `client.ts`: an answer that breaks the protocol',
    action: 'check the registry URL',
  },
  REGISTRY_MANIFEST_NOT_FOUND: {
    area: 'cd',
    where: '`client.ts`, `cd/watcher.ts`: the tag does not exist (404)',
    action: 'push the tag; a first push counts as a change',
  },
  REGISTRY_RESPONSE_TOO_LARGE: {
    area: 'cd',
    where: '`body.ts`: a manifest or token answer over 4 MiB',
    action: 'check the registry',
  },
  REGISTRY_ERROR: {
    area: 'cd',
    where: '`cd/watcher.ts`: a registry check failed with an error that carries no code of its own',
    action: 'read the message',
  },
  WATCH_FAILED: {
    area: 'cd',
    where: '`cd/watcher.ts`: a watch check failed unexpectedly (outside the registry request)',
    action: 'read the message',
  },
  RUNNING_DIGEST_FAILED: {
    area: 'cd',
    where: "`watcher.ts`: the running container's image digest cannot be read",
    action: 'check Docker',
  },
  DEPLOY_DIGEST_UNCHANGED: {
    area: 'cd',
    where: '`watcher.ts`: a redeploy finished but the container still reports the old digest',
    action: 'not retried until the tag moves; check the image',
  },
  LEDGER_WRITE_FAILED: {
    area: 'cd',
    where: 'orchestrator, warning (`ledger.ts`): a deploy or cron run could not be appended to the deploy ledger `.dispenser/ledger.jsonl`; the deploy itself is unaffected, `dispenser history` misses it',
    action: "make the state directory writable by the daemon's user; check the disk is not full",
  },
  LEDGER_UNREADABLE: {
    area: 'cli',
    where: 'supervisor, answered on the control socket (`supervisor/control-server.ts`): `dispenser history` could not read the deploy ledger `.dispenser/ledger.jsonl`',
    action: "check the file's permissions: the daemon's user must be able to read it",
  },
  DEPLOY_FAILED: {
    area: 'cd',
    where: '`watcher.ts`, `cd/cron-runner.ts`: a watch- or cron-triggered deploy failed',
    action: 'the line carries the underlying error',
  },
  CRON_INVALID: {
    area: 'cd',
    where: '`cd/scheduler.ts`, `cron-runner.ts`: the expression does not parse',
    action: 'fix `cron`',
  },
  CRON_FAILED: {
    area: 'cd',
    where: '`cron-runner.ts`: a cron tick failed unexpectedly',
    action: 'read the message',
  },
  DOCKER_ERROR: {
    area: 'cd',
    where: "`cron-runner.ts`: whether a cron run is still going, or how it ended, could not be read from Docker; `dispenser down` (`cli/src/commands/down.ts`): the containers and networks to remove could not be listed",
    action: 'read the message (it carries what Docker answered); `docker info` shows whether the engine is healthy',
  },

  // Notifications ([[notify]])
  NOTIFY_FAILED: {
    area: 'notify',
    where: '`notify/delivery.ts`, warn: a notification was not delivered after every attempt (no answer, a connection error, 408, 429 or 5xx each time); logged with the webhook\'s origin only',
    action: 'check that the receiver is up and reachable from this machine; the notification is dropped, the next ones are tried',
  },
  NOTIFY_REJECTED: {
    area: 'notify',
    where: '`notify/delivery.ts`, warn: the webhook answered another 3xx or 4xx (not retried)',
    action: 'check `url` and `format` (a Slack URL with `format = "slack"`, an ntfy topic URL with `format = "ntfy"`) and the receiver\'s signature check',
  },
  NOTIFY_QUEUE_FULL: {
    area: 'notify',
    where: '`notify/delivery.ts`, warn: more notifications were waiting for one webhook than its queue holds (1000); the oldest were dropped, and a second line counts them once the queue is empty',
    action: 'nothing for the deploys (they never wait on notifications); make the receiver answer, or narrow `events`',
  },

  // Certificates
  CERT_CA_UNREACHABLE: {
    area: 'certs',
    where: 'ACME: the directory URL cannot be reached, or its TLS certificate is not trusted',
    action: 'check `directory_url`, outbound HTTPS; `NODE_EXTRA_CA_CERTS` for a private CA',
  },
  CERT_CHALLENGE_FAILED: {
    area: 'certs',
    where: 'ACME: the CA could not fetch the HTTP-01 token',
    action: 'point DNS at this machine; open port 80',
  },
  CERT_INVALID_EMAIL: {
    area: 'certs',
    where: 'ACME: the CA refused `[certbot] email`, or it is not an email address',
    action: 'fix `email`',
  },
  CERT_INVALID_HOST: {
    area: 'certs',
    where: 'ACME: the host is not a public DNS name, or the CA refuses to issue for it',
    action: 'use one, or `cert_file`/`key_file`',
  },
  CERT_RATE_LIMITED: {
    area: 'certs',
    where: "ACME: the CA's rate limit",
    action: 'nothing: Dispenser waits (at least 1 h)',
  },
  CERT_ACME_FAILED: {
    area: 'certs',
    where: 'ACME: any other error',
    action: 'retried with backoff',
  },
  CERT_FILE_UNREADABLE: {
    area: 'certs',
    where: 'certificate files: `cert_file` cannot be read',
    action: 'let the `dispenser` user read them',
  },
  CERT_KEY_FILE_UNREADABLE: {
    area: 'certs',
    where: 'certificate files: `key_file` cannot be read',
    action: 'let the `dispenser` user read them',
  },
  CERT_FILE_INVALID: {
    area: 'certs',
    where: 'certificate files: not a PEM certificate / private key',
    action: 'fix the file',
  },
  CERT_KEY_MISMATCH: {
    area: 'certs',
    where: 'certificate files: the key does not belong to the certificate (also while a replacement is half-written)',
    action: 'write both files',
  },
  CERT_EXPIRING: {
    area: 'certs',
    where: 'certificate files, warn, hourly: expired or expiring within 7 days (still served)',
    action: 'renew the files',
  },
  CERT_HOST_NOT_COVERED: {
    area: 'certs',
    where: 'certificate files, warn: the certificate does not name the host (still served)',
    action: 'use a certificate for that host',
  },
  CERT_SELF_SIGNED_FAILED: {
    area: 'certs',
    where: '`dispenser dev`: a self-signed certificate could not be made',
    action: 'read the message; delete `.dispenser/dev-certs/<host>`',
  },
  CERT_SELF_SIGNED_FALLBACK: {
    area: 'certs',
    where: 'warning: an https host has no `cert_file`/`key_file` and there is no `[certbot]`; it is served a self-signed certificate',
    action: 'add `[certbot] email` to dispenser.toml or `cert_file`/`key_file` to the service\'s `[proxy]`; or `strategy = "http-only"`',
  },
  CERT_ORIGINAL_IMPORT_SKIPPED: {
    area: 'certs',
    where: 'warning: a certificate the original Rust Dispenser left in `.dispenser/certs/<host>.crt` is not imported (the message says why: key mismatch, wrong host, expired, self-signed, unreadable)',
    action: 'nothing: a new certificate is ordered; delete the old files once you no longer need them',
  },

  // Proxy workers
  PROXY_UPSTREAM_FAILED: {
    area: 'proxy',
    where: '`handler.ts`, warn: a 502 (refused, reset, connect timeout, bad response); at most 20 lines a second per service and worker, then a count of those left out',
    action: 'check the service; `cause` says why',
  },
  PROXY_UPSTREAM_TIMEOUT: {
    area: 'proxy',
    where: '`handler.ts`, warn: a 504 (no answer within `upstream_timeout`); limited like the above',
    action: 'check the service, or raise `upstream_timeout`',
  },
  PROXY_REQUEST_FAILED: {
    area: 'proxy',
    where: "`handler.ts`: an error inside the proxy's own handling; that request gets 502",
    action: 'a bug: report it',
  },
  PROXY_UNCAUGHT_ERROR: {
    area: 'proxy',
    where: '`worker.ts`: an error escaped request handling (at most 10 lines a minute); the worker keeps serving',
    action: 'a bug: report it with the stack',
  },
  PROXY_CERT_INVALID: {
    area: 'proxy',
    where: '`proxy-worker.ts`: a certificate does not load; skipped, other hosts keep theirs',
    action: 'see the `CERT_…` line for that host',
  },
  PROXY_LISTEN_FAILED: {
    area: 'proxy',
    where: '`listeners.ts`: a port cannot be opened (fatal at start; after a reload the workers keep the old one)',
    action: 'free the port or change `http_port`/`https_port`/`bind`',
  },
  PROXY_SNAPSHOT_FAILED: {
    area: 'proxy',
    where: '`worker.ts`: fallback code when a snapshot cannot be applied',
    action: 'read the message',
  },
  PROXY_PRIVILEGES_KEPT: {
    area: 'proxy',
    where: '`worker.ts`, warn at start: the worker holds a group or capability',
    action: 'run as a dedicated user with the packaged unit ([operations.md](../operations.md#privileges))',
  },
  PROXY_ACTIVATED_SOCKET_RELEASED: {
    area: 'proxy',
    where: "worker, after a reload moved a listener off an activated socket and back: the worker's copy of the socket was closed",
    action: 'restart Dispenser (`systemctl restart dispenser`)',
  },
} satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof errorCatalogue;

/** The code's anchor on docs/reference/errors.md (each table row carries its codes' anchors). */
export function errorAnchor(code: ErrorCode): string {
  return code.toLowerCase().replaceAll('_', '-');
}

/** Where a code is documented, relative to the repository (and the packages' /usr/share/doc). */
export function errorDocsLink(code: ErrorCode): string {
  return `docs/reference/errors.md#${errorAnchor(code)}`;
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCatalogue, code);
}
