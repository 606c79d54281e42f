import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a signed body carries: `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const SIGNATURE_HEADER = 'X-Dispenser-Signature';

export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** What a receiver does; here for the tests and the docs' example. */
export function verifySignature(body: string, secret: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  const want = Buffer.from(signBody(body, secret));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}
