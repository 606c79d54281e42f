import { errorMessage } from '@dispenser/shared/errors';
import { LABELS } from '@dispenser/shared/instance';
import { serviceLogger, type Logger } from '@dispenser/shared/log';
import type { ContainerEngine, EngineEvent } from './docker/engine.js';
import type { IntendedStops } from './docker/intended-stops.js';
import type { EventSink } from './notify/events.js';
import { EXIT_LOG_LINES, exitReport } from './exits.js';
import type { Services } from './services.js';

export interface ExitReporterOptions {
  engine: ContainerEngine;
  services: Services;
  /** containers Dispenser stopped itself: their exit is no crash */
  intendedStops: IntendedStops;
  log: Logger;
  /** aborted when the orchestrator stops: exits are no longer reported */
  signal: AbortSignal;
  /** container-exited is told here (error-level exits only) */
  events: EventSink;
}

/**
 * A declared service's container died and Dispenser did not stop it: logs it with the exit code
 * and the container's last lines (scrubbed of the config's secrets). Nothing is started here:
 * Docker's restart policy decides (restart = "no": a reload or restart of Dispenser does).
 */
export class ExitReporter {
  constructor(private readonly opts: ExitReporterOptions) {}

  /** `e`: a die event of a container this instance manages; never rejects */
  async report(e: EngineEvent): Promise<void> {
    const { engine, services, intendedStops, log: baseLog, signal } = this.opts;
    try {
      const service = e.attributes[LABELS.service];
      const name = e.attributes.name;
      const svc = service === undefined ? undefined : services.find(service);
      // a rollout candidate or a set-aside copy carries another name; their fate is logged where it is decided
      if (!svc || !name || name !== services.desired(svc.name).containerName || intendedStops.intended(e.id) || signal.aborted) return;
      const exitCode = Number(e.attributes.exitCode ?? Number.NaN);
      const lastLogs = await engine.containerLogs(e.id, EXIT_LOG_LINES).catch(() => [] as string[]);
      const redacted = lastLogs.map((l) => services.redact(l));
      const report = exitReport(svc, name, Number.isFinite(exitCode) ? exitCode : -1, redacted);
      if (!report) return;
      const log = serviceLogger(baseLog, svc.name);
      const fields = { code: report.code, container: name, exitCode, restartPolicy: svc.restart, restartedBy: report.restartedBy, lastLogs: redacted, hint: report.hint };
      if (report.level === 'error') {
        log.error(fields, report.message);
        this.opts.events.emit({ event: 'container-exited', service: svc.name, code: report.code, message: report.message, details: { container: name, exitCode, restartedBy: report.restartedBy } });
      } else log.info(fields, report.message);
    } catch (err) {
      baseLog.warn({ err: errorMessage(err), container: e.attributes.name }, 'cannot report a container exit');
    }
  }
}
