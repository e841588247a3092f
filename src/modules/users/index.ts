// The Users module's public face: other modules may import only from here.
export { UsersModule } from './users.module';
export { GetUserQuery } from './queries/get-user/get-user.query';
export { UserExistsQuery } from './queries/user-exists/user-exists.query';
export { userProfilesRebuildable } from './projections/user-profiles.rebuildable';
export type { UserView } from './queries/get-user/user.view';
export type { UserStatus } from './domain/user';
