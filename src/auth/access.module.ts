import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { ClientRateLimitGuard } from '../http/limits/client-rate-limit.guard';
import { AccessGuard } from './access.guard';
import { AccessTokenVerifier } from './access-token-verifier';
import type { AuthenticationSettings } from './authentication-settings';
import { DevelopmentModeWarning } from './development-mode-warning';
import { RequestAuthenticator } from './request-authenticator';

export interface AccessOptions {
  authentication: AuthenticationSettings;
  /** Requests per client in any 60 s; 0: no rate limit. */
  rateLimitPerMinute: number;
}

const MINUTE_MS = 60_000;

/**
 * Who may call the HTTP endpoints of a process, and how often: the rate limiter (when on), then the
 * access guard, as global guards in that order. Both apps import it, so the consumer's HTTP side
 * follows the API's rules.
 */
@Module({})
export class AccessModule {
  static forRoot({ authentication, rateLimitPerMinute }: AccessOptions): DynamicModule {
    const rateLimited = rateLimitPerMinute > 0;
    const guards: Provider[] = [
      ...(rateLimited ? [{ provide: APP_GUARD, useClass: ClientRateLimitGuard }] : []),
      { provide: APP_GUARD, useClass: AccessGuard },
    ];
    return {
      module: AccessModule,
      imports: rateLimited
        ? [
            ThrottlerModule.forRoot({
              // 'default': the headers are then plain Retry-After and X-RateLimit-*, without a suffix.
              // blockDuration 0: a sliding window, so a client is refused only until its oldest request of the last minute leaves it.
              throttlers: [{ name: 'default', ttl: MINUTE_MS, limit: rateLimitPerMinute, blockDuration: 0 }],
              errorMessage: (_context, { limit, timeToBlockExpire }) =>
                `this client sent more than ${limit} requests in the last minute; nothing was done, retry after ${timeToBlockExpire} s`,
            }),
          ]
        : [],
      providers: [
        { provide: AccessTokenVerifier, useValue: new AccessTokenVerifier(authentication) },
        { provide: RequestAuthenticator, useFactory: (verifier: AccessTokenVerifier) => new RequestAuthenticator(verifier), inject: [AccessTokenVerifier] },
        { provide: DevelopmentModeWarning, useValue: new DevelopmentModeWarning(authentication) },
        ...guards,
      ],
    };
  }
}
