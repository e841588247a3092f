import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CommandMetadata } from '../../../event-store/event-metadata';
import { ApiProblemResponses } from '../../../http/api-problem-responses';
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
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: CreatedResponse, description: 'Registered; `Location` names the new user' })
  @ApiProblemResponses(400, 409, 413)
  async register(
    @Body() body: RegisterUserRequest,
    @RequestMetadata() metadata: CommandMetadata,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedResponse> {
    const { id } = await this.commands.execute(new RegisterUserCommand(body.email, body.name, body.creditLimit, metadata));
    void reply.status(201).header('location', `/users/${id}`);
    return { id };
  }

  @Get(':id')
  @ApiOkResponse({ type: UserResponse })
  @ApiProblemResponses(400, 404)
  get(@Param('id', uuid) id: string): Promise<UserResponse> {
    return this.queries.execute(new GetUserQuery(id));
  }

  @Put(':id/email')
  @ApiIdempotencyKey()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Changed' })
  @ApiProblemResponses(400, 404, 409)
  async changeEmail(
    @Param('id', uuid) id: string,
    @Body() body: ChangeUserEmailRequest,
    @RequestMetadata() metadata: CommandMetadata,
  ): Promise<void> {
    await this.commands.execute(new ChangeUserEmailCommand(id, body.email, metadata));
  }

  @Post(':id/deactivate')
  @ApiIdempotencyKey()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deactivated' })
  @ApiProblemResponses(400, 404, 409)
  async deactivate(@Param('id', uuid) id: string, @RequestMetadata() metadata: CommandMetadata): Promise<void> {
    await this.commands.execute(new DeactivateUserCommand(id, metadata));
  }
}
