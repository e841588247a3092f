import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment } from '../../config/environment';
import { DatabaseNotifications } from '../../database/database-notifications';
import { AfterListening } from '../../shared/after-listening';
import { SUBSCRIPTION_LEASES_CHANNEL, SubscriptionLeases } from './subscription-leases';

/**
 * The process's SubscriptionLeases: looks for segments once the app listens (a subscription
 * asked for a batch before looks itself), hears other processes join or give segments back by
 * NOTIFY (and looks once the LISTEN connection is back after a loss, when such a NOTIFY may have
 * been lost), and ends its lease session after every reader stopped (onApplicationShutdown comes
 * after every beforeApplicationShutdown), which frees its segments for the other processes.
 */
@Injectable()
export class ProcessSubscriptionLeases extends SubscriptionLeases implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    config: ConfigService<Environment, true>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly notifications: DatabaseNotifications,
    private readonly afterListening: AfterListening,
  ) {
    super({
      databaseUrl: config.get('DATABASE_URL', { infer: true }),
      lookMs: config.get('SUBSCRIPTION_LEASE_LOOK_MS', { infer: true }),
      settledLookMs: 30_000,
      sessionTimeoutMs: config.get('LEASE_SESSION_TIMEOUT_MS', { infer: true }),
    });
  }

  onApplicationBootstrap(): void {
    this.notifications.on(SUBSCRIPTION_LEASES_CHANNEL, () => this.wake());
    // An announcement sent while the LISTEN connection was down is lost: look at once instead.
    this.notifications.onReconnect(() => this.wake());
    this.afterListening.register('subscription leases', () =>
      this.start(async (payload) => {
        await this.dataSource.query(`SELECT pg_notify($1, $2)`, [SUBSCRIPTION_LEASES_CHANNEL, payload]);
      }),
    );
  }

  onApplicationShutdown(): Promise<void> {
    return this.stop();
  }
}
