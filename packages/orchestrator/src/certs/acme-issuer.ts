import { rm } from 'node:fs/promises';
import acme from 'acme-client';
import type { Logger } from '@dispenser/shared/log';
import { errorCode, errorMessage } from '@dispenser/shared/errors';
import { accountFiles, openAccount, type OpenedAccount } from './acme-account.js';
import { classifyAcmeFailure, type AcmeStep } from './acme-errors.js';
import { configureTransport, problemMark, problemSince } from './acme-transport.js';
import { CertError, CertErrorCode } from './errors.js';
import { isPlausibleEmail } from './names.js';
import type { StoredCert } from './store.js';

export interface ChallengeResponder {
  /** resolves once every proxy worker answers the token */
  add(token: string, keyAuthorization: string): Promise<void>;
  remove(token: string): Promise<void>;
}

export interface AcmeIssuerOptions {
  stateDir: string;
  directoryUrl: string;
  email: string;
  challenges: ChallengeResponder;
  log: Logger;
  /** PEM bundle trusted for the CA's HTTPS endpoint besides system roots and NODE_EXTRA_CA_CERTS */
  ca?: string | Buffer;
  requestTimeoutMs?: number;
}

/** Orders single-host certificates with HTTP-01 from one ACME account (directory + email). */
export class AcmeIssuer {
  private account: Promise<OpenedAccount> | undefined;
  private readonly origin: string;

  constructor(private readonly opts: AcmeIssuerOptions) {
    this.origin = configureTransport(opts.directoryUrl, {
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    });
  }

  get directoryUrl(): string {
    return this.opts.directoryUrl;
  }
  get email(): string {
    return this.opts.email;
  }

  /** Obtain a certificate for host; throws a CertError whose code says what went wrong. */
  async issue(host: string): Promise<StoredCert> {
    const mark = problemMark();
    try {
      return await this.issueOnce(host);
    } catch (err) {
      // The CA forgot our account (a test CA restarted, or the account was deactivated): register
      // again with the same key once instead of failing forever.
      if (problemSince(this.origin, mark)?.type.endsWith(':accountDoesNotExist')) {
        this.opts.log.warn({ host }, 'ACME account unknown to the CA; registering it again');
        this.account = undefined;
        await rm(accountFiles(this.opts.stateDir, this.opts.directoryUrl, this.opts.email).recordFile, { force: true });
        return this.issueOnce(host);
      }
      throw err;
    }
  }

  private async issueOnce(host: string): Promise<StoredCert> {
    if (!isPlausibleEmail(this.opts.email)) {
      throw new CertError(CertErrorCode.invalidEmail, `[certbot] email "${this.opts.email}" is not an email address; cannot order ${host}`, {
        hint: 'set [certbot] email in dispenser.toml to a working address',
      });
    }
    let step: AcmeStep = 'account';
    const mark = problemMark();
    try {
      const { client } = await this.openAccount();
      step = 'order';
      const order = await client.createOrder({ identifiers: [{ type: 'dns', value: host }] });
      const authorizations = await client.getAuthorizations(order);
      step = 'challenge';
      for (const authz of authorizations) {
        if (authz.status === 'valid') continue;
        await this.satisfy(client, authz);
      }
      step = 'finalize';
      const key = await acme.crypto.createPrivateEcdsaKey('P-256');
      const [, csr] = await acme.crypto.createCsr({ commonName: host, altNames: [host] }, key);
      const finalized = await client.finalizeOrder(order, csr);
      const certPem = await client.getCertificate(finalized);
      return { certPem, keyPem: key.toString('utf8') };
    } catch (err) {
      if (err instanceof CertError) throw err;
      const problem = problemSince(this.origin, mark);
      const code = errorCode(err) ?? errorCode((err as { cause?: unknown }).cause);
      const failure = classifyAcmeFailure({
        step,
        message: errorMessage(err),
        host,
        directoryUrl: this.opts.directoryUrl,
        email: this.opts.email,
        ...(code !== undefined ? { errorCode: code } : {}),
        ...(problem ? { problem } : {}),
      });
      throw new CertError(failure.code, failure.message, {
        cause: err,
        ...(failure.hint !== undefined ? { hint: failure.hint } : {}),
        ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
      });
    }
  }

  private openAccount(): Promise<OpenedAccount> {
    if (!this.account) {
      const opening = openAccount({ stateDir: this.opts.stateDir, directoryUrl: this.opts.directoryUrl, email: this.opts.email });
      this.account = opening;
      opening.then(
        (a) => {
          this.opts.log.info({ accountUrl: a.accountUrl, directoryUrl: this.opts.directoryUrl }, a.registered ? 'ACME account registered' : 'ACME account reused');
        },
        () => {
          // Try again on the next order rather than caching the failure.
          if (this.account === opening) this.account = undefined;
        },
      );
    }
    return this.account;
  }

  private async satisfy(client: acme.Client, authz: acme.Authorization): Promise<void> {
    const challenge = authz.challenges.find((c) => c.type === 'http-01');
    if (!challenge) {
      throw new CertError(CertErrorCode.challengeFailed, `the ACME CA offers no HTTP-01 challenge for ${authz.identifier.value}`, {
        hint: 'Dispenser only supports HTTP-01; use cert_file/key_file for this host',
      });
    }
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    let completed = false;
    try {
      // Every proxy worker must answer the token before the CA is told to look.
      await this.opts.challenges.add(challenge.token, keyAuthorization);
      await client.completeChallenge(challenge);
      completed = true;
      await client.waitForValidStatus(challenge);
    } catch (err) {
      if (!completed) await client.deactivateAuthorization(authz).catch(() => undefined);
      throw err;
    } finally {
      await this.opts.challenges.remove(challenge.token).catch((err: unknown) => {
        this.opts.log.warn({ err: errorMessage(err) }, 'could not withdraw an ACME challenge token');
      });
    }
  }
}
