import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/access.decorators';
import { MetricsRegistry } from './metrics-registry';

/**
 * `GET /metrics`: Prometheus text format, for a scraper rather than API clients (so not in the
 * OpenAPI document). A controller of its own so that authentication can leave it open, or scope
 * it, in one place. GETs are never shed by admission control nor claim an idempotency key.
 * Open, like the health checks (Prometheus scrapes without a token by default): route it to the
 * internal network only, never through the public ingress.
 */
@Public()
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: MetricsRegistry) {}

  @Get()
  @Header('content-type', MetricsRegistry.CONTENT_TYPE)
  @Header('cache-control', 'no-store')
  scrape(): Promise<string> {
    return this.registry.scrape();
  }
}
