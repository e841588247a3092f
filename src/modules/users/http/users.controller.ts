import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScopes } from '../../../auth/access.decorators';
import { CommandMetadata } from '../../../event-store/event-metadata';
import { ApiProblemResponses } from '../../../http/api-problem-responses';
import { ApiIfMatch, ETAG_RESPONSE_HEADER, LOCATION_RESPONSE_HEADER } from '../../../http/conditional-requests/api-entity-tags';
import { IfMatch, withEntityTag } from '../../../http/conditional-requests/entity-tag';
import { ApiIdempotencyKey } from '../../../http/idempotency/api-idempotency-key';
import { RequestMetadata } from '../../../http/correlation-id';
import { ChangeUserEmailCommand } from '../commands/change-user-email/change-user-email.command';
import { DeactivateUserCommand } from '../commands/deactivate-user/deactivate-user.command';
import { RegisterUserCommand } from '../commands/register-user/register-user.command';
import { GetUserQuery } from '../queries/get-user/get-user.query';
import { ChangeUserEmailRequest, RegisterUserRequest } from './register-user.request';
import { CreatedResponse, UserResponse } from './user.response';

const uuid = new ParseUUIDPipe({ version: undefined });

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @RequireScopes('users:write')
  @ApiIdempotencyKey()
  @ApiCreatedResponse({
    type: CreatedResponse,
    description: 'Registered; `Location` names the new user, and a GET of it shows the user at once',
    headers: { ...LOCATION_RESPONSE_HEADER, ...ETAG_RESPONSE_HEADER },
  })
  @ApiProblemResponses(400, 409, 413, 503)
  async register(
    @Body() body: RegisterUserRequest,
    @RequestMetadata() metadata: CommandMetadata,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedResponse> {
    const { id, version } = await this.commands.execute(new RegisterUserCommand(body.email, body.name, body.creditLimit, metadata));
    void reply.status(201).header('location', `/users/${id}`);
    withEntityTag(reply, version);
    return { id };
  }

  @Get(':id')
  @RequireScopes('users:read')
  @ApiOkResponse({
    type: UserResponse,
    description: "The user's current state, never behind a command that answered before this request",
    headers: ETAG_RESPONSE_HEADER,
  })
  @ApiProblemResponses(400, 404)
  async get(@Param('id', uuid) id: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<UserResponse> {
    const user = await this.queries.execute(new GetUserQuery(id));
    withEntityTag(reply, user.version);
    return user;
  }

  @Put(':id/email')
  @RequireScopes('users:write')
  @ApiIdempotencyKey()
  @ApiIfMatch()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Changed (or already this email)', headers: ETAG_RESPONSE_HEADER })
  @ApiProblemResponses(400, 404, 409, 412, 503)
  async changeEmail(
    @Param('id', uuid) id: string,
    @Body() body: ChangeUserEmailRequest,
    @IfMatch() expectedVersion: number | undefined,
    @RequestMetadata() metadata: CommandMetadata,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { version } = await this.commands.execute(new ChangeUserEmailCommand(id, body.email, metadata, expectedVersion));
    withEntityTag(reply, version);
  }

  @Post(':id/deactivate')
  @RequireScopes('users:write')
  @ApiIdempotencyKey()
  @ApiIfMatch()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deactivated', headers: ETAG_RESPONSE_HEADER })
  @ApiProblemResponses(400, 404, 409, 412, 503)
  async deactivate(
    @Param('id', uuid) id: string,
    @IfMatch() expectedVersion: number | undefined,
    @RequestMetadata() metadata: CommandMetadata,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { version } = await this.commands.execute(new DeactivateUserCommand(id, metadata, expectedVersion));
    withEntityTag(reply, version);
  }
}
