import { Logger, OnModuleInit } from '@nestjs/common';
import { signDevelopmentToken } from './access-token-signer';
import type { AuthenticationSettings } from './authentication-settings';

/**
 * Says at start, as a warning, that this process runs in development mode. When it generated its
 * secret itself (AUTH_JWT_SECRET unset), no other program can sign for it, so it also logs a token
 * with every scope; `npm start` passes both apps one secret and prints the token instead.
 */
export class DevelopmentModeWarning implements OnModuleInit {
  private readonly logger = new Logger('Authentication');

  constructor(private readonly settings: AuthenticationSettings) {}

  async onModuleInit(): Promise<void> {
    const development = this.settings.development;
    if (!development || !('secret' in this.settings.keys)) return;
    if (!development.secretGenerated) {
      this.logger.warn('AUTH_MODE=development: tokens signed with AUTH_JWT_SECRET are accepted; never run this mode where others can reach it');
      return;
    }
    const token = await signDevelopmentToken({ secret: this.settings.keys.secret, issuer: this.settings.issuer, audience: this.settings.audience });
    this.logger.warn(
      'AUTH_MODE=development with a secret generated for this process; never run this mode where others can reach it. ' +
        `A token with every scope, valid 24 h for this process only: ${token}`,
    );
  }
}
