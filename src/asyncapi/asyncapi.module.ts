import { Module } from '@nestjs/common';
import { AsyncApiCatalogue } from './asyncapi-catalogue';
import { AsyncApiController } from './asyncapi.controller';

/** `GET /asyncapi.json` and `GET /asyncapi`: the integration events, described and rendered. */
@Module({ controllers: [AsyncApiController], providers: [AsyncApiCatalogue] })
export class AsyncApiModule {}
