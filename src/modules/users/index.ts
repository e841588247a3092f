// The Users module's public face: other modules may import only from here.
export { UsersModule } from './users.module';
export { GetUserStatusQuery } from './queries/get-user-status/get-user-status.query';
export { GetUserQuery } from './queries/get-user/get-user.query';
export type { UserView } from './queries/get-user/user.view';
export type { UserStatus } from './domain/user';
