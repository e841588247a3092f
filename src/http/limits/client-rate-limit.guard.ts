import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerOptions, InjectThrottlerStorage, ThrottlerGuard, ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { RequestAuthenticator } from '../../auth/request-authenticator';

/**
 * Rate limiting per client with `@nestjs/throttler`: one sliding window per client across every
 * endpoint (not one per endpoint), the client being the verified token's `sub`, or the IP address
 * for a request without a valid token. Runs before the access guard, so a flood of bad tokens is
 * limited per address too. Over the limit: 429 problem+json with `Retry-After` (seconds until the
 * oldest request of the window leaves it). Counts live in this process's memory: N processes
 * behind a balancer allow a client up to N times the limit.
 */
@Injectable()
export class ClientRateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly authenticator: RequestAuthenticator,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return context.getType() !== 'http';
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const fastifyRequest = request as unknown as FastifyRequest;
    const authentication = await this.authenticator.authenticate(fastifyRequest);
    return authentication.ok && authentication.principal.subject !== undefined ? `sub:${authentication.principal.subject}` : `ip:${fastifyRequest.ip}`;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }
}
