import { errorCode } from '@dispenser/shared/errors';
import { NOTIFY_CERT_EXPIRING_MS } from '@dispenser/shared/defaults';
import type { EventSink } from '../notify/events.js';
import type { AcmeIssuer } from './acme-issuer.js';
import { CertError, CertErrorCode } from './errors.js';
import { problemOf, type HostState } from './host-state.js';
import { inspectCertificate } from './pem.js';
import { nextRetryAt } from './renewal.js';
import type { CertStore } from './store.js';

export interface OrderDeps {
  store: CertStore;
  now: () => Date;
  /** false once the host was removed or its source changed while the order ran */
  current(state: HostState): boolean;
  /** aborted when the certificate manager stops: a certificate issued then is stored, not served */
  signal: AbortSignal;
  /** cert-renewal-failed and cert-expiring are told here */
  events?: EventSink;
}

/**
 * Orders a host's certificate from the CA and stores it. A success resets the host's backoff; a
 * failure sets the next attempt (rate limits and Retry-After respected). Resolves true when the
 * host has a new certificate to publish; never rejects.
 */
export async function orderCertificate(state: HostState, issuer: AcmeIssuer, reason: string, deps: OrderDeps): Promise<boolean> {
  const host = state.plan.host;
  state.log.info({ reason, directoryUrl: issuer.directoryUrl }, 'ordering certificate');
  try {
    const cert = await issuer.issue(host);
    const info = inspectCertificate(cert.certPem);
    await deps.store.save(host, cert);
    if (deps.signal.aborted || !deps.current(state)) return false;
    state.current = { ...cert, info };
    state.failures = 0;
    state.retryAt = undefined;
    state.error = undefined;
    state.log.info({ notAfter: info.notAfter.toISOString(), issuer: info.issuer.replace(/\n/g, ', ') }, 'certificate issued');
    return true;
  } catch (err) {
    if (!deps.current(state)) return false;
    state.failures += 1;
    const retryAfterMs = err instanceof CertError ? err.retryAfterMs : undefined;
    state.retryAt = nextRetryAt(state.failures, deps.now(), {
      rateLimited: errorCode(err) === CertErrorCode.rateLimited,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
    state.error = problemOf(err);
    state.log.error(
      { code: state.error.code, hint: state.error.hint, failures: state.failures, retryAt: state.retryAt.toISOString(), serving: state.current ? 'previous certificate' : 'none' },
      state.error.message,
    );
    const service = state.plan.services.join(', ');
    const details = { host, failures: state.failures, retryAt: state.retryAt.toISOString() };
    deps.events?.emit({ event: 'cert-renewal-failed', service, code: state.error.code, message: `the certificate for ${host} could not be ${state.current ? 'renewed' : 'issued'}: ${state.error.message}`, details });
    const left = state.current ? state.current.info.notAfter.getTime() - deps.now().getTime() : undefined;
    if (left !== undefined && left < NOTIFY_CERT_EXPIRING_MS) {
      const when = left <= 0 ? 'has expired' : `expires in ${Math.max(1, Math.floor(left / 86_400_000))} day(s)`;
      deps.events?.emit({ event: 'cert-expiring', service, code: state.error.code, message: `the certificate served for ${host} ${when} (${state.current!.info.notAfter.toISOString()}) and could not be renewed`, details: { ...details, notAfter: state.current!.info.notAfter.toISOString() } });
    }
    return false;
  }
}
