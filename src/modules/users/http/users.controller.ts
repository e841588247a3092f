import { Body, Controller, Get, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScopes } from '../../../auth/access.decorators';
import { ApiIfMatch, ETAG_RESPONSE_HEADER, locationResponseHeader } from '../../../http/conditional-requests/api-entity-tags';
import { IfMatch, withEntityTag } from '../../../http/conditional-requests/entity-tag';
import { ApiProblems } from '../../../http/openapi/api-problems.decorator';
import { causeOf, EXAMPLE_IDS, invalidFields, MALFORMED_UUID } from '../../../http/openapi/problem-causes';
import { ConcurrencyConflictError } from '../../../shared/domain-error';
import { EmailAlreadyTakenError, UserAlreadyDeactivatedError, UserDeactivatedError, UserNotFoundError } from '../domain/user.errors';
import { ChangeUserEmailCommand } from '../commands/change-user-email/change-user-email.command';
import { DeactivateUserCommand } from '../commands/deactivate-user/deactivate-user.command';
import { RegisterUserCommand } from '../commands/register-user/register-user.command';
import { GetUserQuery } from '../queries/get-user/get-user.query';
import { ChangeUserEmailRequest, RegisterUserRequest } from './register-user.request';
import { CreatedResponse, UserResponse } from './user.response';
import { CanonicalUuidPipe } from '../../../http/canonical-uuid';

const uuid = new CanonicalUuidPipe();
const USER_ID = ApiParam({ name: 'id', format: 'uuid', description: "the user's id (`Location` of POST /users)", example: EXAMPLE_IDS.user });
const NOT_FOUND = causeOf(new UserNotFoundError(EXAMPLE_IDS.user));
const LOST_RACE = causeOf(new ConcurrencyConflictError(EXAMPLE_IDS.user), 'Other requests kept changing the user (retried, then given up)');

@ApiTags('Users')
@Controller('users')
export class UsersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @RequireScopes('users:write')
  @ApiOperation({ operationId: 'registerUser', summary: 'Register a user with an email, a name and a credit limit' })
  @ApiCreatedResponse({
    type: CreatedResponse,
    description: 'Registered; `Location` names the new user, and a GET of it shows the user at once',
    headers: { ...locationResponseHeader(`/users/${EXAMPLE_IDS.user}`), ...ETAG_RESPONSE_HEADER },
  })
  @ApiProblems(invalidFields([{ field: 'email', message: 'email must be an email' }]), causeOf(new EmailAlreadyTakenError('ada@example.com')))
  async register(
    @Body() body: RegisterUserRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedResponse> {
    const { id, version } = await this.commands.execute(new RegisterUserCommand(body.email, body.name, body.creditLimit));
    void reply.status(201).header('location', `/users/${id}`);
    withEntityTag(reply, version);
    return { id };
  }

  @Get(':id')
  @RequireScopes('users:read')
  @ApiOperation({ operationId: 'getUser', summary: 'Get a user: email, name, status and credit' })
  @USER_ID
  @ApiOkResponse({
    type: UserResponse,
    description: "The user's current state, never behind a command that answered before this request",
    headers: ETAG_RESPONSE_HEADER,
  })
  @ApiProblems(MALFORMED_UUID, NOT_FOUND)
  async get(@Param('id', uuid) id: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<UserResponse> {
    const user = await this.queries.execute(new GetUserQuery(id));
    withEntityTag(reply, user.version);
    return user;
  }

  @Put(':id/email')
  @RequireScopes('users:write')
  @ApiOperation({ operationId: 'changeUserEmail', summary: "Change a user's email" })
  @USER_ID
  @ApiIfMatch()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Changed (or already this email)', headers: ETAG_RESPONSE_HEADER })
  @ApiProblems(
    MALFORMED_UUID,
    invalidFields([{ field: 'email', message: 'email must be an email' }]),
    NOT_FOUND,
    causeOf(new EmailAlreadyTakenError('ada.lovelace@example.com')),
    causeOf(new UserDeactivatedError(EXAMPLE_IDS.user)),
    LOST_RACE,
  )
  async changeEmail(
    @Param('id', uuid) id: string,
    @Body() body: ChangeUserEmailRequest,
    @IfMatch() expectedVersion: number | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { version } = await this.commands.execute(new ChangeUserEmailCommand(id, body.email, expectedVersion));
    withEntityTag(reply, version);
  }

  @Post(':id/deactivate')
  @RequireScopes('users:write')
  @ApiOperation({ operationId: 'deactivateUser', summary: 'Deactivate a user (its PENDING orders are rejected)' })
  @USER_ID
  @ApiIfMatch()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deactivated', headers: ETAG_RESPONSE_HEADER })
  @ApiProblems(MALFORMED_UUID, NOT_FOUND, causeOf(new UserAlreadyDeactivatedError(EXAMPLE_IDS.user)), LOST_RACE)
  async deactivate(
    @Param('id', uuid) id: string,
    @IfMatch() expectedVersion: number | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { version } = await this.commands.execute(new DeactivateUserCommand(id, expectedVersion));
    withEntityTag(reply, version);
  }
}
