/**
 * The orchestrator process, forked by the supervisor with DISPENSER_CONFIG (absolute path of
 * dispenser.toml) and, in dev mode, DISPENSER_DEV_SERVICES (JSON array of service names/dirs).
 * Containers outlive this process: drain stops Dispenser's own work, never the services.
 */
import { loadConfig } from '@dispenser/shared/config/load';
import { errorCode, errorMessage, type ErrorCode } from '@dispenser/shared/errors';
import { envelope } from '@dispenser/shared/ipc/messages';
import { createLogger } from '@dispenser/shared/log';
import type { Component } from './contracts.js';
import { startContinuousDeployment } from './cd/index.js';
import { startCertificates } from './certs/certificates.js';
import { certificateSamples, orchestratorMetrics } from './metrics.js';
import { DockerodeEngine } from './docker/dockerode-engine.js';
import { runOrchestratorProcess, type Channel, type ComponentContext } from './orchestrator-process.js';

process.title = 'dispenser: orchestrator';
const log = createLogger('orchestrator');

// The supervisor is gone (killed, crashed): a new daemon may already be starting and acting on the
// same containers, so this one stops at once rather than finishing what it was doing. Exiting is
// the abort: in-flight Docker requests are cut, nothing new is sent, and no graceful step (a stop
// timeout, a drain) can delay it. Installed before anything else: the start-up reconcile can take
// minutes and must not run on without a supervisor either. Containers are left as they are; the
// next orchestrator adopts them (a half-done rollout is cleaned up on its start).
process.on('disconnect', () => {
  log.warn({ code: 'SUPERVISOR_GONE' }, 'the supervisor is gone: stopping at once, containers are left as they are');
  process.exit(0);
});

function fatal(code: ErrorCode, message: string): void {
  log.fatal({ code }, message);
  // exit only once the message is handed over, or the supervisor sees a crash and restarts us
  if (process.send) process.send(envelope({ type: 'fatal', component: 'orchestrator', code, message }), () => process.exit(1));
  else process.exit(1);
}

/** undefined: not dev mode; null: malformed */
function devServices(): readonly string[] | undefined | null {
  const raw = process.env.DISPENSER_DEV_SERVICES;
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) return null;
  return parsed as string[];
}

async function createComponents(ctx: ComponentContext): Promise<Component[]> {
  // Certificates first: stored ones are published before `ready`, so a restart serves HTTPS at once.
  const certificates = await startCertificates(ctx.config, { publisher: ctx.publisher, dev: ctx.dev, log: ctx.log, events: ctx.events });
  orchestratorMetrics.gauge(() => certificateSamples(certificates.status()));
  const cd = startContinuousDeployment(ctx.config, { deployer: ctx.orchestrator, jobRuns: ctx.orchestrator, log: ctx.log, events: ctx.events });
  return [certificates, cd];
}

const configFile = process.env.DISPENSER_CONFIG;
const only = devServices();

const channel: Channel | undefined = process.send
  ? {
      send: (raw) => process.send?.(raw),
      onMessage: (fn) => process.on('message', fn),
    }
  : undefined;

process.on('unhandledRejection', (err) => {
  log.error({ err: errorMessage(err), code: errorCode(err) }, 'unhandled rejection (kept running)');
});

const proc = !configFile
  ? fatal('ORCHESTRATOR_NO_CONFIG', 'DISPENSER_CONFIG is not set')
  : only === null
    ? fatal('ORCHESTRATOR_BAD_ENV', 'DISPENSER_DEV_SERVICES must be a JSON array of strings')
    : await runOrchestratorProcess({
        configFile,
        ...(only ? { only } : {}),
        load: loadConfig,
        engine: new DockerodeEngine(),
        channel,
        log,
        exit: (code) => process.exit(code),
        createComponents,
      });
// asked politely (the supervisor sends drain over IPC; SIGTERM from elsewhere): stop our own work; containers stay
process.on('SIGTERM', () => void proc?.drain());
// Ctrl-C in a terminal reaches the whole process group; the supervisor turns it into a drain.
process.on('SIGINT', () => undefined);
