// The Users module's public face: other modules may import only from here. Between modules the
// published language is the contracts in src/contracts (USER_PUBLICATION); domain events and
// commands stay inside.
export { UsersModule } from './users.module';
export { GetUserQuery } from './queries/get-user/get-user.query';
export { UserExistsQuery } from './queries/user-exists/user-exists.query';
export { CreditAnsweredQuery } from './queries/credit-answered/credit-answered.query';
export { CreditRequestReachedQuery } from './queries/credit-request-reached/credit-request-reached.query';
export type { UserView } from './queries/get-user/user.view';
export type { UserStatus } from './domain/user';
export { USER_STREAM_TYPE } from './domain/user.events';
// Its events' facts for the event store, the app and every CLI (see src/modules/manifests.ts).
export { USERS_EVENT_STORE_MANIFEST } from './users.manifest';
