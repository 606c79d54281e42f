import type { ServiceFacts } from '@dispenser/shared/control/facts';
import { errorMessage } from '@dispenser/shared/errors';
import type { StatusSource } from '../contracts.js';
import type { DeployRecords } from '../deploy-records.js';
import type { Services } from '../services.js';
import { serviceFacts } from './service-facts.js';

/**
 * The facts of every declared service, asked for all at once (each its own container
 * inspection). A service whose container cannot be inspected (the engine is gone) is shown
 * with the reason rather than failing the whole answer.
 */
export async function gatherServiceFacts(services: Services, records: DeployRecords, source: StatusSource): Promise<ServiceFacts[]> {
  const declared = services.config?.services ?? [];
  const certificates = source.certificates?.() ?? [];
  return Promise.all(
    declared.map(async (service) => {
      let inspectError: string | undefined;
      const container = await services.ownContainer(service.name).catch((err: unknown) => {
        inspectError = errorMessage(err);
        return undefined;
      });
      const availableDigest = source.availableDigest?.(service.name);
      const runningDigest = container ? await services.runningImageDigest(service.name, availableDigest).catch(() => undefined) : undefined;
      return serviceFacts({
        service,
        container,
        ...(inspectError !== undefined ? { inspectError } : {}),
        runningDigest,
        availableDigest,
        lastDeploy: records.lastOf(service.name),
        nextRun: source.nextRun?.(service.name),
        certificates,
      });
    }),
  );
}
