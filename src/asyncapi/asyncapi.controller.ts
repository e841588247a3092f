import { Controller, Get, Header, NotFoundException, Param, StreamableFile } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { createReadStream } from 'node:fs';
import { Public } from '../auth/access.decorators';
import { ASYNCAPI_PAGE_CONTENT_SECURITY_POLICY } from '../http/security-headers';
import { AsyncApiCatalogue } from './asyncapi-catalogue';
import { PAGE_ASSETS, PAGE_HTML } from './asyncapi-page';

/**
 * The event catalogue: `GET /asyncapi.json` (the AsyncAPI 3 document of the integration events)
 * and `GET /asyncapi` (it, rendered by @asyncapi/react-component from this origin). Open like
 * `/docs`: it describes the public interface and holds no data and no secret (the broker's host,
 * never its credentials). Not in the OpenAPI document: it is documentation, not an API operation.
 */
@Public()
@ApiExcludeController()
@Controller()
export class AsyncApiController {
  constructor(private readonly catalogue: AsyncApiCatalogue) {}

  @Get('asyncapi.json')
  @Header('content-type', 'application/json; charset=utf-8')
  @Header('cache-control', 'no-cache')
  document(): string {
    return this.catalogue.json;
  }

  @Get('asyncapi')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-cache')
  // Over the app's policy (helmet's hook set it on every response): see the constant for why.
  @Header('content-security-policy', ASYNCAPI_PAGE_CONTENT_SECURITY_POLICY)
  page(): string {
    return PAGE_HTML;
  }

  @Get('asyncapi/assets/:name')
  @Header('cache-control', 'public, max-age=3600')
  asset(@Param('name') name: string): StreamableFile | string {
    const asset = PAGE_ASSETS.get(name);
    if (!asset) throw new NotFoundException({ code: 'ASSET_NOT_FOUND', message: `no asset named ${name.slice(0, 100)}` });
    const options = { type: asset.contentType };
    return asset.path ? new StreamableFile(createReadStream(asset.path), options) : new StreamableFile(Buffer.from(asset.text ?? ''), options);
  }
}
