import type { FastifyRequest } from 'fastify';
import { AccessTokenVerifier, Authentication } from './access-token-verifier';

/**
 * Authenticates a request once, however many guards ask: the rate limiter (to count the request
 * against its token's `sub`) and the access guard read the same verification.
 */
export class RequestAuthenticator {
  private readonly verified = new WeakMap<FastifyRequest, Promise<Authentication>>();

  constructor(private readonly verifier: AccessTokenVerifier) {}

  authenticate(request: FastifyRequest): Promise<Authentication> {
    let authentication = this.verified.get(request);
    if (!authentication) {
      authentication = this.verifier.authenticate(request.headers.authorization);
      this.verified.set(request, authentication);
    }
    return authentication;
  }
}
