import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Environment } from '../config/environment';
import { INTEGRATION_EVENT_CONTRACTS } from '../contracts';
import { brokerTopology } from '../messaging/broker-topology';
import { type AsyncApiDocument, buildAsyncApiDocument } from './asyncapi-document';

/** The AsyncAPI document of this process's contracts and broker, built once at start (a few ms). */
@Injectable()
export class AsyncApiCatalogue {
  readonly document: AsyncApiDocument;
  /** The document serialized once: every request sends the same bytes. */
  readonly json: string;

  constructor(config: ConfigService<Environment, true>) {
    this.document = buildAsyncApiDocument({
      contracts: INTEGRATION_EVENT_CONTRACTS,
      exchange: brokerTopology(config.get('BROKER_PREFIX', { infer: true }), config.get('CONSUMER_RETRY_DELAYS_MS', { infer: true })).exchange,
      brokerUrl: config.get('RABBITMQ_URL', { infer: true }),
      version: '1',
    });
    this.json = JSON.stringify(this.document);
  }
}
