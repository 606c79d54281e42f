/**
 * The orchestrator process, forked by the supervisor with DISPENSER_CONFIG (absolute path of
 * dispenser.toml) and, in dev mode, DISPENSER_DEV_SERVICES (JSON array of service names/dirs).
 * Containers outlive this process: drain stops Dispenser's own work, never the services.
 */
import { loadConfig } from '@dispenser/shared/config/load';
import { errorCode, errorMessage } from '@dispenser/shared/errors';
import { envelope } from '@dispenser/shared/ipc/messages';
import { createLogger } from '@dispenser/shared/log';
import type { Component } from './contracts.js';
import { startContinuousDeployment } from './cd/index.js';
import { startCertificates } from './certs/certificates.js';
import { DockerodeEngine } from './docker/dockerode-engine.js';
import { runOrchestratorProcess, type Channel, type ComponentContext } from './orchestrator-process.js';

process.title = 'dispenser: orchestrator';
const log = createLogger('orchestrator');

function fatal(code: string, message: string): never {
  process.send?.(envelope({ type: 'fatal', component: 'orchestrator', code, message }));
  log.fatal({ code }, message);
  process.exit(1);
}

function devServices(): readonly string[] | undefined {
  const raw = process.env.DISPENSER_DEV_SERVICES;
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) fatal('ORCHESTRATOR_BAD_ENV', 'DISPENSER_DEV_SERVICES must be a JSON array of strings');
  return parsed as string[];
}

async function createComponents(ctx: ComponentContext): Promise<Component[]> {
  // Certificates first: stored ones are published before `ready`, so a restart serves HTTPS at once.
  const certificates = await startCertificates(ctx.config, { publisher: ctx.publisher, dev: ctx.dev, log: ctx.log });
  const cd = startContinuousDeployment(ctx.config, { deployer: ctx.orchestrator, log: ctx.log });
  return [certificates, cd];
}

const configFile = process.env.DISPENSER_CONFIG;
if (!configFile) fatal('ORCHESTRATOR_NO_CONFIG', 'DISPENSER_CONFIG is not set');

const channel: Channel | undefined = process.send
  ? {
      send: (raw) => process.send?.(raw),
      onMessage: (fn) => process.on('message', fn),
    }
  : undefined;

process.on('unhandledRejection', (err) => {
  log.error({ err: errorMessage(err), code: errorCode(err) }, 'unhandled rejection (kept running)');
});

const only = devServices();
const proc = await runOrchestratorProcess({
  configFile,
  ...(only ? { only } : {}),
  load: loadConfig,
  engine: new DockerodeEngine(),
  channel,
  log,
  exit: (code) => process.exit(code),
  createComponents,
});
// the supervisor went away or asked politely: stop our own work; containers stay
process.on('disconnect', () => void proc?.drain());
process.on('SIGTERM', () => void proc?.drain());
