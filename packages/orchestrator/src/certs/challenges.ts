import type { ProxyPublisher } from '../contracts.js';

/**
 * The HTTP-01 tokens currently being validated, published to the proxy workers as one whole
 * snapshot on every change. `add` resolves only once every proxy worker serves the token, which
 * is what makes it safe to ask the CA to validate right after.
 */
export class ChallengeBoard {
  private readonly tokens = new Map<string, string>();
  constructor(private readonly publisher: Pick<ProxyPublisher, 'publishChallenges'>) {}

  async add(token: string, keyAuthorization: string): Promise<void> {
    this.tokens.set(token, keyAuthorization);
    await this.publish();
  }

  async remove(token: string): Promise<void> {
    if (!this.tokens.delete(token)) return;
    await this.publish();
  }

  private publish(): Promise<void> {
    return this.publisher.publishChallenges(Object.fromEntries(this.tokens));
  }
}
