import type { RestartPolicy, ServiceConfig } from '@dispenser/shared/config/types';

/** Lines of a dead container's log that go with the report. */
export const EXIT_LOG_LINES = 20;

export interface ExitReport {
  level: 'error' | 'info';
  code: 'CONTAINER_EXITED';
  message: string;
  hint: string;
  /** what happens next: Docker restarts it, or it stays down until a reload or restart */
  restartedBy: 'docker' | 'nobody';
}

/** Whether Docker itself starts the container again after this exit (its restart policy). */
export function dockerRestarts(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'always' || policy === 'unless-stopped' || (policy === 'on-failure' && exitCode !== 0);
}

/**
 * Pure: what to log when the container of a declared service exits without Dispenser stopping it.
 * undefined for services that run to completion by design (cron or on-trigger: the cron runner
 * logs their exit code itself). A non-proxied service that exits 0 finished its job (info); any
 * other exit takes the service down (error), and a proxied one answers 503 until it runs again.
 */
export function exitReport(svc: ServiceConfig, container: string, exitCode: number, lastLogs: readonly string[]): ExitReport | undefined {
  if (svc.dispenser.initialize !== 'immediately' || svc.dispenser.cron !== undefined) return undefined;
  const proxied = svc.proxy !== undefined;
  const restarted = dockerRestarts(svc.restart, exitCode);
  const next = restarted
    ? `Docker restarts it (restart policy "${svc.restart}")`
    : `restart policy "${svc.restart}": it stays down until the next reload or restart of Dispenser${proxied ? '; the proxy answers 503 for its routes meanwhile' : ''}`;
  const logs = lastLogs.length > 0 ? `. Last log lines:\n${lastLogs.join('\n')}` : '';
  const completed = exitCode === 0 && !proxied;
  return {
    level: completed ? 'info' : 'error',
    code: 'CONTAINER_EXITED',
    message: `container ${container} of ${svc.name} exited with code ${exitCode}; ${next}${logs}`,
    hint: restarted ? `look at its logs (docker logs ${container})` : `look at its logs (docker logs ${container}), fix the cause, then \`dispenser -s reload\` starts it again`,
    restartedBy: restarted ? 'docker' : 'nobody',
  };
}
